// Traversal grid: around one place, a row per latent dimension (or per arithmetic vector), each
// stepping from -r to +r standard deviations of the data along that direction.

import { api } from "./api.js";
import { termAttributeIds } from "./arithmetic.js";
import { can } from "./capabilities.js";
import { markImage } from "./data-distance.js";
import { current, Slot } from "./places.js";
import { saveImageGrid } from "./png.js";
import { on, sameRef, save, state } from "./state.js";
import { $, $$, boundedNumber, busy, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-traverse");
const table = $("#trav-grid");
const guard = latestOnly();
let grid = null; // the last TraverseOut
let start = null; // the slot of the place the grid is drawn around

function setup() {
  start = new Slot($("#trav-start"), (ref) => {
    state.trav.start = ref;
    save();
  });
  $$('input[name="trav-mode"]').forEach((radio) =>
    radio.addEventListener("change", () => {
      state.trav.mode = radio.value;
      save();
    }),
  );
  boundedNumber($("#trav-steps"), { lo: 3, hi: 15, fallback: 7, what: "Steps" }, (steps) => {
    state.trav.steps = steps;
    save();
  });
  const radius = { lo: 0.5, hi: 10, integer: false, fallback: 3, what: "The reach" };
  boundedNumber($("#trav-radius"), radius, (value) => {
    state.trav.radius = value;
    save();
  });
  $("#trav-run").addEventListener("click", run);
  $("#trav-png").addEventListener("click", saveGrid);
  // "Around" follows the place in the preview while the tab is open, like the other panels;
  // a grid already drawn is drawn again around the new place.
  const follow = () => {
    const place = current.get();
    if (root.hidden || !place || sameRef(place.ref, start.ref)) return;
    start.set(place.ref, place.image, true);
    if (grid) run();
  };
  on("tab", (tab) => tab === "traverse" && follow());
  on("here", follow);
}

export async function run() {
  if (!start.ref) {
    const place = current.get();
    if (place) start.set(place.ref, place.image, true);
  }
  if (!start.ref) {
    showError(root, "Choose a place first: click the map, or type an item number.");
    return;
  }
  const body = { start: start.ref, steps: state.trav.steps, radius: state.trav.radius };
  if (state.trav.mode === "attrs") {
    body.attributes = termAttributeIds();
    if (!body.attributes.length) {
      showError(root, "Add attribute vectors in the Arithmetic tab first, or choose latent dimensions.");
      return;
    }
  }
  clearError(root);
  try {
    const result = await guard(busy(root, api.traverse(state.model, body)));
    if (result === STALE) return;
    grid = result;
  } catch (error) {
    showError(root, error);
    return;
  }
  state.trav.run = true;
  save();
  render();
}

/** "-3.0σ" ... "+3.0σ"; `short` (many columns): "-3.0" ..., the σ said once in the corner,
 * so every title fits its column. */
function columnTitles({ short = false } = {}) {
  return grid.rows[0].offsets.map((o) => `${o > 0 ? "+" : ""}${fmt(o, 1)}${short ? "" : "σ"}`);
}

function render() {
  const short = grid.rows[0].offsets.length > 9;
  const titles = columnTitles({ short });
  const corner = el("th", { text: short ? "σ" : "" });
  const head = el("tr", {}, corner, ...titles.map((t) => el("th", { scope: "col", text: t })));
  const rows = grid.rows.map((row) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: row.label }),
      ...row.images.map((src, i) => {
        const alt = `${row.label} at ${columnTitles()[i]}`;
        const dd = row.data_distances && row.data_distances[i];
        return el("td", {}, markImage(el("img", { class: "pixel", src, alt, title: alt }), dd));
      }),
    ),
  );
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  $("#trav-outside").hidden = !table.querySelector(".dd-between, .dd-far");
  $("#trav-result").hidden = false;
}

export function gridRows() {
  return grid;
}

export async function saveGrid() {
  if (!grid) {
    showError(root, "Draw a grid first.");
    return;
  }
  await saveImageGrid(grid.rows, `traversal-${state.model}.png`, columnTitles());
}

function restore() {
  grid = null;
  table.replaceChildren();
  $("#trav-result").hidden = true;
  clearError(root);
  start.set(state.trav.start);
  $$('input[name="trav-mode"]').forEach((r) => (r.checked = r.value === state.trav.mode));
  $("#trav-steps").value = state.trav.steps;
  $("#trav-radius").value = state.trav.radius;
  // No decoder: the tab is hidden and the server would refuse the grid (409 no_decoder).
  if (state.trav.run && start.ref && can.decode) run();
}

export const panel = { name: "traverse", label: "Traverse", setup, reset: () => {}, restore };

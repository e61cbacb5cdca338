// Wires the page: reads the URL, loads the model list and the chosen model's points, and
// connects the header, tabs, map tools and selection bar to the panels.

import { api } from "./api.js";
import * as arithmetic from "./arithmetic.js";
import { applyCapabilities, can, PROBE_HINTS } from "./capabilities.js";
import "./compare-link.js";
import "./export.js";
import * as interpolate from "./interpolate.js";
import * as map from "./map.js";
import * as neighbours from "./neighbours.js";
import "./outliers.js";
import { buildFields, ERROR_FIELD } from "./places.js";
import * as preview from "./preview.js";
import { emit, fromQuery, loaded, on, save, state } from "./state.js";
import * as traverse from "./traverse.js";
import { $, $$, busy, el, toast } from "./ui.js";
import * as upload from "./upload.js";

const TABS = ["interpolate", "arithmetic", "upload", "neighbours", "traverse", "export"];
const HINTS = {
  get probe() {
    return can.decode ? PROBE_HINTS.decoded : PROBE_HINTS.nearest;
  },
  pan: "Drag to move; scroll to zoom.",
  zoom: "Drag a rectangle to zoom in.",
  lasso: "Draw around points to select them.",
  select: "Drag a box to select points.",
};

// ---- header: model, projection, colour ------------------------------------------------------
function describeModel(m) {
  const q = m.quality || {};
  const ds = m.dataset || {};
  const [c, h, w] = m.image_shape;
  const figure = (text, title) => el("span", { class: "figure", title, text });
  const images = m.has_images === false ? "no images" : `${w}×${h} ${c === 1 ? "grey" : "colour"}`;
  const parts = [
    `${ds.spec || "dataset"} · ${m.n_items} items · ${images} · ${m.architecture.toUpperCase()} · latent ${m.latent_dim}  `,
  ];
  if (Number.isFinite(q.reconstruction_mse)) {
    parts.push(figure(`MSE ${q.reconstruction_mse.toFixed(4)}`, "mean squared reconstruction error per pixel"));
  }
  if (Number.isFinite(q.knn_accuracy)) {
    parts.push(figure(`kNN ${(100 * q.knn_accuracy).toFixed(1)}%`, "label accuracy of a nearest-neighbour classifier in latent space"));
  }
  const trust = q.trustworthiness && q.trustworthiness[state.projection];
  if (Number.isFinite(trust)) {
    parts.push(figure(`trust ${trust.toFixed(3)}`, `trustworthiness of the ${state.projection.toUpperCase()} map: how well it keeps latent neighbours together (1 is perfect)`));
  }
  const faithful = q.faithfulness && q.faithfulness[state.projection];
  if (Number.isFinite(faithful)) {
    parts.push(figure(`faithful ${faithful.toFixed(3)}`, `mean faithfulness of the ${state.projection.toUpperCase()} map: the share of each item's 10 nearest latent neighbours that are also its 10 nearest on the map (colour by it to see where)`));
  }
  $("#model-info").replaceChildren(...parts);
}

function fillColourSelect() {
  const select = $("#colour-select");
  select.replaceChildren(
    ...Object.entries(loaded.fields).map(([name, field]) =>
      el("option", { value: name, text: field.label }),
    ),
  );
  select.value = state.colour;
}

function setProjectionRadios() {
  $$('input[name="projection"]').forEach((radio) => {
    radio.disabled = !loaded.model.projections.includes(radio.value);
    radio.checked = radio.value === state.projection;
  });
}

async function loadPoints() {
  map.setLoading(true);
  try {
    loaded.points = await busy(null, api.points(state.model, state.projection));
  } finally {
    map.setLoading(false);
  }
  loaded.fields = buildFields(loaded.points);
  if (!loaded.fields[state.colour]) {
    state.colour = loaded.points.label_field && loaded.fields[loaded.points.label_field]
      ? loaded.points.label_field
      : Object.keys(loaded.fields)[0] || ERROR_FIELD;
  }
}

function drawGroups() {
  map.setOverlayIds("groupA", state.groupA);
  map.setOverlayIds("groupB", state.groupB);
}

/** Load the current model (first load: from the URL; later: a fresh view of another model). */
async function loadModel() {
  loaded.model = loaded.models.find((m) => m.name === state.model) || loaded.models[0];
  state.model = loaded.model.name;
  $("#model-select").value = state.model;
  if (!loaded.model.projections.includes(state.projection)) {
    state.projection = loaded.model.projections.includes("umap") ? "umap" : loaded.model.projections[0];
  }
  setProjectionRadios();
  describeModel(loaded.model);
  applyCapabilities();
  if ($(`#tab-${state.tab}`).hidden) selectTab(state.tab); // e.g. Upload, for embeddings
  preview.reset();
  upload.reset();
  map.clearOverlays();
  await loadPoints();
  // Asked for once the points are here: the server derives the vectors on the first request
  // (seconds at a million items), and the map need not wait for them.
  const attributes = api.attributes(state.model).then(
    (answer) => answer.attributes,
    (error) => {
      toast(`Attribute vectors are unavailable: ${error.message}`);
      return [];
    },
  );
  const count = loaded.points.count;
  const valid = (ids) => ids.filter((id) => id < count);
  state.selection = valid(state.selection);
  state.groupA = valid(state.groupA);
  state.groupB = valid(state.groupB);
  fillColourSelect();
  await map.render();
  map.bindPlotEvents();
  drawGroups();
  updateSelectionBar();
  emit("model", loaded.model); // outliers.js, compare-link.js
  loaded.attributes = await attributes;
  interpolate.restore();
  arithmetic.restore();
  neighbours.restore();
  traverse.restore();
  if (state.here) await preview.goTo(state.here);
  save();
}

async function changeProjection(projection) {
  state.projection = projection;
  describeModel(loaded.model);
  try {
    await loadPoints();
  } catch (error) {
    toast(error.message);
    return;
  }
  await map.render();
  drawGroups();
  emit("projection");
  if (state.here) preview.goTo(state.here);
  save();
}

function resetViewState() {
  Object.assign(state, {
    colour: null,
    hidden: new Set(),
    here: null,
    selection: [],
    groupA: [],
    groupB: [],
    interp: { start: null, end: null, method: state.interp.method, steps: state.interp.steps, run: false },
    arith: { mode: "terms", start: null, terms: [], a: null, b: null, c: null, run: false },
    trav: { ...state.trav, start: null, run: false },
  });
}

$("#model-select").addEventListener("change", (event) => {
  state.model = event.target.value;
  resetViewState();
  loadModel().catch((error) => toast(error.message));
});
$$('input[name="projection"]').forEach((radio) =>
  radio.addEventListener("change", () => changeProjection(radio.value)),
);
$("#colour-select").addEventListener("change", (event) => {
  const before = map.legendField();
  state.colour = event.target.value;
  if (map.legendField() !== before) state.hidden.clear();
  map.render();
  save();
});
on("hidden", () => {
  map.render();
  save();
});

// ---- tabs ------------------------------------------------------------------------------------
// Tabs the current model has a use for (capabilities.js hides the others).
const shownTabs = () => TABS.filter((tab) => !$(`#tab-${tab}`).hidden);

function selectTab(name, focus = false) {
  state.tab = shownTabs().includes(name) ? name : shownTabs()[0];
  for (const tab of TABS) {
    const button = $(`#tab-${tab}`);
    const selected = tab === state.tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab}`).hidden = !selected;
    if (selected && focus) button.focus();
  }
  emit("tab", state.tab);
  save();
}

$$('[role="tab"]').forEach((button) => {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
  button.addEventListener("keydown", (event) => {
    const tabs = shownTabs();
    const i = tabs.indexOf(button.dataset.tab);
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: tabs.length - 1 - i };
    if (!(event.key in moves)) return;
    event.preventDefault();
    selectTab(tabs[(i + moves[event.key] + tabs.length) % tabs.length], true);
  });
});

// ---- map tools and the selection bar ------------------------------------------------------------
$$('input[name="tool"]').forEach((radio) =>
  radio.addEventListener("change", () => {
    map.setTool(radio.value);
    $("#map-hint").textContent = HINTS[radio.value];
  }),
);
$("#reset-view").addEventListener("click", map.resetView);

function updateSelectionBar() {
  const n = state.selection.length;
  $("#selection-count").textContent = n
    ? `${n} point${n === 1 ? "" : "s"} selected.`
    : "No selection: use Lasso or Box.";
  $("#to-group-a").disabled = !n;
  $("#to-group-b").disabled = !n;
  const clear = $("#clear-selection");
  clear.disabled = !n && !state.groupA.length && !state.groupB.length;
  clear.textContent = n || clear.disabled ? "Clear selection" : "Clear groups";
  $("#group-a-tag").textContent = `A: ${state.groupA.length}`;
  $("#group-b-tag").textContent = `B: ${state.groupB.length}`;
  emit("groups");
}

map.onSelected((ids) => {
  state.selection = ids;
  updateSelectionBar();
  save();
});

function setGroup(key) {
  state[key] = [...state.selection];
  state.selection = [];
  map.replaceSelection();
  drawGroups();
  map.render();
  updateSelectionBar();
  save();
}
$("#to-group-a").addEventListener("click", () => setGroup("groupA"));
$("#to-group-b").addEventListener("click", () => setGroup("groupB"));
$("#clear-selection").addEventListener("click", () => {
  if (state.selection.length) state.selection = [];
  else Object.assign(state, { groupA: [], groupB: [] });
  map.replaceSelection();
  drawGroups();
  map.render();
  updateSelectionBar();
  save();
});

// ---- start ---------------------------------------------------------------------------------------
async function start() {
  fromQuery(location.search);
  selectTab(state.tab);
  try {
    loaded.models = (await busy(null, api.models())).models;
  } catch (error) {
    map.setLoading(false);
    toast(error.message);
    return;
  }
  if (!loaded.models.length) {
    map.setLoading(false);
    $("#model-info").textContent =
      "No models are loaded. Train one with `latent-explorer train --out WORKSPACE`, then restart the server.";
    return;
  }
  $("#model-select").replaceChildren(
    ...loaded.models.map((m) => el("option", { value: m.name, text: m.name })),
  );
  try {
    await loadModel();
  } catch (error) {
    toast(error.message);
  }
  document.body.dataset.ready = "true";
}

// The map fills the window below the header, whose height changes as its controls wrap.
new ResizeObserver(([entry]) => {
  document.documentElement.style.setProperty("--header-h", `${Math.ceil(entry.target.offsetHeight)}px`);
}).observe($(".topbar"));

// A handle for debugging in the console and for the browser tests.
window.latentExplorer = { state, loaded, map };

start();

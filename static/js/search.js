// The search row above the map: a query over item names and metadata (`digit=3`,
// `scale>0.05`, a word of the names), run on the server (GET search), whose matches are ringed
// on the map and counted, and can become the selection or group A or B. Enter runs it; an empty
// box clears it; the server's refusal (an unknown field, a number that is not one) shows beside
// the box. The query is part of the URL (`q`), so a link reopens it.

import { api } from "./api.js";
import { map } from "./explorer-map.js";
import { emit, loaded, save, state } from "./state.js";
import { $, latestOnly, STALE } from "./ui.js";

const form = $("#search");
const input = $("#search-input");
const count = $("#search-count");
const actions = $("#search-actions");
const error = $("#search-error");
const guard = latestOnly();
let matches = []; // item ids, ascending

/** The ids set in a bitmap (base64; item i is bit i % 8 of byte i // 8), below `total`. */
export function idsFromBitmap(base64, total) {
  const text = atob(base64);
  const ids = [];
  for (let byte = 0; byte < text.length; byte += 1) {
    let bits = text.charCodeAt(byte);
    while (bits) {
      const low = bits & -bits; // the lowest set bit
      const id = byte * 8 + 31 - Math.clz32(low);
      if (id < total) ids.push(id);
      bits ^= low;
    }
  }
  return ids;
}

function show(ids, text) {
  matches = ids;
  map.setOverlayIds("search", ids);
  count.textContent = text;
  actions.hidden = ids.length === 0;
  form.dataset.matches = String(ids.length); // for tests: what is ringed on the map
}

function showError(message) {
  error.textContent = message;
  error.hidden = !message;
  input.setAttribute("aria-invalid", String(Boolean(message)));
}

function clear() {
  guard(Promise.resolve()); // an answer still on its way is now stale
  show([], "");
  showError("");
  delete form.dataset.query;
}

/** Run the query in the box for the current model (an empty box clears the search). */
async function run() {
  const query = input.value.trim();
  state.search = query;
  save();
  if (!query) {
    clear();
    return;
  }
  const model = state.model;
  let answer;
  try {
    answer = await guard(api.search(model, query));
  } catch (failure) {
    show([], "");
    showError(failure.message);
    return;
  }
  if (answer === STALE || model !== state.model) return;
  showError("");
  const total = loaded.points ? loaded.points.count : answer.total;
  const ids = idsFromBitmap(answer.bitmap, total);
  const of = answer.total.toLocaleString("en");
  show(ids, `${answer.count.toLocaleString("en")} of ${of} item${answer.total === 1 ? "" : "s"} match`);
  form.dataset.query = query;
}

/** Make the matches the selection, or group A or B (main.js shows them: "selection-set"). */
function use(key) {
  state[key] = [...matches];
  emit("selection-set");
}

function setup() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  // The box's own clear button (and deleting every character) clears the search at once.
  input.addEventListener("input", () => {
    if (!input.value.trim() && (matches.length || !error.hidden)) run();
  });
  $("#search-select").addEventListener("click", () => use("selection"));
  $("#search-group-a").addEventListener("click", () => use("groupA"));
  $("#search-group-b").addEventListener("click", () => use("groupB"));
}

// A card of its own (no tab): cleared when another model loads, run again once its points are
// in, with the query of the box (or of the link).
export const panel = {
  name: "search",
  label: null,
  setup,
  reset: clear,
  restore: () => {
    input.value = state.search || "";
    return run();
  },
};

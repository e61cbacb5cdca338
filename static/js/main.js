// Wires the explorer page: reads the URL, loads the model list and the chosen model's points,
// draws the map, and connects the header, map tools and selection bar; the panels (panels.js)
// do the rest through their common interface.

import { api } from "./api.js";
import { applyCapabilities, can, PROBE_HINTS } from "./capabilities.js";
import * as compareLink from "./compare-link.js";
import { map, setLoading } from "./explorer-map.js";
import { legendField, renderLegend } from "./legend.js";
import * as mapImages from "./map-images.js";
import { describeModel } from "./model-info.js";
import { PANELS } from "./panels.js";
import { buildFields, ERROR_FIELD } from "./places.js";
import { goTo } from "./preview.js";
import { chooseProjection, onProjectionChange, showProjections } from "./projections.js";
import { emit, fromQuery, loaded, on, save, state } from "./state.js";
import * as tabs from "./tabs.js";
import * as tooltip from "./tooltip.js";
import { $, $$, busy, el, toast } from "./ui.js";

const HINTS = {
  get probe() {
    return can.decode ? PROBE_HINTS.decoded : PROBE_HINTS.nearest;
  },
  pan: "Drag to move; scroll to zoom.",
  zoom: "Drag a rectangle to zoom in.",
  lasso: "Draw around points to select them.",
  select: "Drag a box to select points.",
};

// ---- the map ---------------------------------------------------------------------------------
/** The hidden classes as {codes, off}: off[code] is 1 for a hidden category; or null. */
function hiddenCodes() {
  const field = state.hidden.size > 0 ? loaded.fields[legendField()] : null;
  if (!field) return null;
  const off = Uint8Array.from(field.categories, (category) => (state.hidden.has(category) ? 1 : 0));
  return { codes: field.codes, off };
}

/** Draw the current points as the state says (`highlight`: the selection was set anew). */
async function drawMap({ highlight = false } = {}) {
  if (!loaded.points) return;
  await map.draw({
    points: loaded.points,
    key: `${state.model}/${state.projection}`,
    colour: loaded.fields[state.colour] || null,
    hidden: hiddenCodes(),
    highlighted: highlight ? state.selection : undefined,
  });
  // For tests and benchmarks: what the map was last drawn with.
  const { dataset } = $("#map");
  dataset.projection = state.projection;
  dataset.colour = state.colour || "";
  renderLegend();
}

function drawGroups() {
  map.setOverlayIds("groupA", state.groupA);
  map.setOverlayIds("groupB", state.groupB);
}

// ---- header: model, projection, colour ------------------------------------------------------
function fillColourSelect() {
  const select = $("#colour-select");
  select.replaceChildren(
    ...Object.entries(loaded.fields).map(([name, field]) =>
      el("option", { value: name, text: field.label }),
    ),
  );
  select.value = state.colour;
}

async function loadPoints() {
  setLoading(true);
  try {
    loaded.points = await busy(null, api.points(state.model, state.projection));
  } finally {
    setLoading(false);
  }
  loaded.fields = buildFields(loaded.points);
  if (!loaded.fields[state.colour]) {
    state.colour = loaded.points.label_field && loaded.fields[loaded.points.label_field]
      ? loaded.points.label_field
      : Object.keys(loaded.fields)[0] || ERROR_FIELD;
  }
}

/** Load the current model (first load: from the URL; later: a fresh view of another model). */
async function loadModel() {
  const wanted = state.model;
  loaded.model = loaded.models.find((m) => m.name === state.model) || loaded.models[0];
  if (wanted && wanted !== loaded.model.name) {
    toast(`This link names the model "${wanted}", which this server does not have: showing ${loaded.model.name} instead.`);
  }
  state.model = loaded.model.name;
  $("#model-select").value = state.model;
  const { projections, default_projection: fallback } = loaded.model;
  state.projection = chooseProjection(projections, state.projection, [fallback]);
  showProjections(projections, state.projection);
  describeModel(loaded.model);
  applyCapabilities();
  tabs.keepTabShown(); // e.g. Upload, for embeddings
  for (const panel of PANELS) panel.reset();
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
  const view = state.view; // the link's zoom (the first draw shows the whole map)
  await drawMap({ highlight: true });
  if (view) await map.setView(view);
  drawGroups();
  updateSelectionBar();
  emit("model", loaded.model); // outliers.js, compare-link.js
  loaded.attributes = await attributes;
  for (const panel of PANELS) await panel.restore();
  save();
}

async function changeProjection(projection) {
  state.projection = projection;
  state.view = null; // ranges of one map mean nothing on another
  describeModel(loaded.model);
  try {
    await loadPoints();
  } catch (error) {
    toast(error.message);
    return;
  }
  await drawMap();
  drawGroups();
  emit("projection");
  if (state.here) goTo(state.here);
  save();
}

function resetViewState() {
  Object.assign(state, {
    colour: null,
    view: null,
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

function wireHeader() {
  $("#model-select").addEventListener("change", (event) => {
    state.model = event.target.value;
    resetViewState();
    loadModel().catch((error) => toast(error.message));
  });
  onProjectionChange(changeProjection);
  $("#colour-select").addEventListener("change", (event) => {
    const before = legendField();
    state.colour = event.target.value;
    if (legendField() !== before) state.hidden.clear();
    drawMap();
    save();
  });
  on("hidden", () => {
    drawMap();
    save();
  });
}

// ---- map tools and the selection bar ------------------------------------------------------------
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

/** The page changed the selection or the groups: show them. */
function selectionChanged() {
  map.highlight(state.selection);
  drawGroups();
  updateSelectionBar();
  save();
}

function wireMapControls() {
  $$('input[name="tool"]').forEach((radio) =>
    radio.addEventListener("change", () => {
      map.setTool(radio.value);
      $("#map-hint").textContent = HINTS[radio.value];
    }),
  );
  $("#reset-view").addEventListener("click", () => map.resetView());
  map.on("select", (ids) => {
    state.selection = ids;
    updateSelectionBar();
    save();
  });
  map.on("view", () => emit("view")); // preview.js keeps its handle on the place
  map.on("zoom", (range) => {
    state.view = range; // the zoom is part of a link
    save();
  });
  const setGroup = (key) => {
    state[key] = [...state.selection];
    state.selection = [];
    selectionChanged();
  };
  $("#to-group-a").addEventListener("click", () => setGroup("groupA"));
  $("#to-group-b").addEventListener("click", () => setGroup("groupB"));
  on("selection-set", selectionChanged); // a panel set the selection or a group (search.js)
  $("#clear-selection").addEventListener("click", () => {
    if (state.selection.length) state.selection = [];
    else Object.assign(state, { groupA: [], groupB: [] });
    selectionChanged();
  });
}

// ---- start ---------------------------------------------------------------------------------------
async function start() {
  tabs.setup();
  for (const panel of PANELS) panel.setup();
  tooltip.setup(map);
  mapImages.setup(map);
  compareLink.setup();
  wireHeader();
  wireMapControls();
  // The map fills the window below the header, whose height changes as its controls wrap.
  new ResizeObserver(([entry]) => {
    document.documentElement.style.setProperty("--header-h", `${Math.ceil(entry.target.offsetHeight)}px`);
  }).observe($(".topbar"));

  fromQuery(location.search);
  tabs.selectTab(state.tab);
  try {
    loaded.models = (await busy(null, api.models())).models;
  } catch (error) {
    setLoading(false);
    toast(error.message);
    return;
  }
  if (!loaded.models.length) {
    setLoading(false);
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

// A handle for debugging in the console and for the browser tests.
window.latentExplorer = { state, loaded, map };

start();

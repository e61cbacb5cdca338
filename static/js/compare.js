// The compare page (/compare?models=A,B,C&ref=A; the older /compare?a=A&b=B still opens):
// any number of models of the same items, their maps in a grid with the reference first,
// linked by item id (hover, select or click in one map and the same items light up in all),
// optionally aligned onto the reference map, and one table of every figure, one row per
// model. Which models can be compared: GET /api/models/{ref}/comparable.

import { api } from "./api.js";
import { alignedPoints, CHANGE_FIELD, changeFields, showChanged } from "./compare-change.js";
import { MapGrid } from "./compare-grid.js";
import { renderTable } from "./compare-table.js";
import { resetTopology } from "./compare-topology.js";
import { buildFields, fieldValue } from "./places.js";
import { chooseProjection, onProjectionChange, showProjections } from "./projections.js";
import { $, $$, busy, el, latestOnly, STALE, toast } from "./ui.js";

const view = {
  models: [], // the reference first
  other: null, // the model the "What changed" card and the topology card set against it
  projection: null, // null: the models' default_projection (GET /api/models)
  colour: null,
  align: false,
  tool: "select",
  highlighted: null, // sorted item ids lit up in every map, or null
  table: null, // GET /api/compare/table's answer
};
const models = new Map(); // name -> ModelOut
let comparable = []; // the loaded models on the reference's items, but the reference
let fields = {}; // model -> its colour fields (places.js buildFields)
const pointsCache = new Map(); // "model/projection" -> points

const INFO = "Hover, select or click points in any map: the same items light up in every map.";
const grid = new MapGrid($("#compare-grid"), {
  select: selected,
  hover: (model, id) => grid.ring(id, model),
  unhover: (model) => grid.ring(null, model),
  remove: (model) => setModels(view.models.filter((m) => m !== model)),
});

/** The user selected `ids` (empty: cleared) in `model`'s map: light them up everywhere. */
function selected(model, ids, how) {
  view.highlighted = ids && ids.length ? [...ids].sort((p, q) => p - q) : null;
  showCount();
  // A box or lasso already shows in its own map; a click highlights the point there too.
  return grid.highlight(view.highlighted, how === "click" ? null : model);
}

function pick(id) {
  view.highlighted = [id];
  showCount();
  return grid.highlight(view.highlighted);
}

function showCount() {
  const n = view.highlighted ? view.highlighted.length : 0;
  $("#clear-highlight").disabled = n === 0;
  const where = n ? `${n} item${n === 1 ? "" : "s"} highlighted in every map.` : "";
  $("#compare-info").textContent = where || INFO;
  document.body.dataset.highlighted = String(n);
}

function describe(id) {
  const reference = fields[view.models[0]] || {};
  const label = models.get(view.models[0]).label_field;
  const field = label && reference[label];
  return field ? `item #${id} (${label} ${fieldValue(field, id)})` : `item #${id}`;
}

// ---- controls ---------------------------------------------------------------------------------
function option(name) {
  return el("option", { value: name, text: `${name} (${models.get(name).n_items} items)` });
}

function fillControls() {
  const [reference] = view.models;
  // Every loaded model can be the reference: the ones on other items step aside when chosen.
  const shownFirst = [...view.models, ...[...models.keys()].filter((m) => !view.models.includes(m))];
  $("#reference-select").replaceChildren(...shownFirst.map(option));
  $("#reference-select").value = reference;
  const addable = comparable.filter((name) => !view.models.includes(name));
  const none = el("option", { value: "", text: "(every model on these items is shown)" });
  $("#add-model").replaceChildren(...(addable.length ? addable.map(option) : [none]));
  $("#add-model").disabled = $("#add-model-button").disabled = addable.length === 0;
  const others = view.models.slice(1);
  if (!others.includes(view.other)) view.other = others[0] || null;
  $("#other-select").replaceChildren(...others.map(option));
  $("#other-select").value = view.other || "";
  $("#align-toggle").checked = view.align;
}

function fillColours() {
  const maps = view.models.map((m) => fields[m] || {});
  const names = Object.keys(maps[0]).filter((name) => maps.every((f) => name in f));
  const options = names.map((name) => el("option", { value: name, text: maps[0][name].label }));
  if (view.models.length > 1) {
    options.push(el("option", { value: CHANGE_FIELD, text: "neighbourhood change (vs reference)" }));
    names.push(CHANGE_FIELD);
  }
  $("#colour-select").replaceChildren(...options);
  if (!names.includes(view.colour)) {
    const label = models.get(view.models[0]).label_field;
    view.colour = names.includes(label) ? label : names[0] || null;
  }
  $("#colour-select").value = view.colour || "";
}

function setProjectionRadios() {
  const all = view.models.map((m) => models.get(m));
  const shared = all[0].projections.filter((p) => all.every((m) => m.projections.includes(p)));
  view.projection = chooseProjection(shared, view.projection, all.map((m) => m.default_projection));
  showProjections(shared, view.projection);
}

function saveUrl() {
  const query = new URLSearchParams({ models: view.models.join(","), proj: view.projection });
  if (view.other) query.set("vs", view.other);
  if (view.colour) query.set("colour", view.colour);
  if (view.align) query.set("align", "1");
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

/** Keep the models on the reference's items (a link or a new reference may name others, and
 * the server would refuse them with a 409); with none left, show the first that is. Returns
 * whether there is anything to compare. */
function keepComparable(reference) {
  const others = view.models.slice(1);
  const left = others.filter((m) => !comparable.includes(m));
  const kept = others.filter((m) => comparable.includes(m));
  if (kept.length === 0 && comparable.length) kept.push(comparable[0]);
  view.models = [reference, ...kept];
  if (left.length && kept.length) {
    const verb = left.length > 1 ? "are" : "is";
    toast(`${left.join(", ")} ${verb} on other items than ${reference}: left out; showing ${view.models.join(", ")}.`, { info: true });
  }
  return kept.length > 0;
}

function showAlone(reference) {
  // Not an error either: this reference has no partner here, another one may.
  $("#compare-needs").replaceChildren(
    `No other loaded model is on the items of ${reference} (${models.get(reference).n_items} items). `,
    "Choose another reference above, or train a second model on its dataset, for example ",
    el("code", { text: "latent-explorer train --dataset digits --model ae --out WORKSPACE" }),
    ", and restart the server.",
  );
  $("#compare-needs").hidden = false;
  $("#compare-layout").hidden = true;
}

function showError(message) {
  const box = $("#compare-error");
  box.textContent = message;
  box.hidden = !message;
  $("#compare-layout").hidden = Boolean(message);
}

// ---- loading ----------------------------------------------------------------------------------
async function pointsOf(model) {
  const key = `${model}/${view.projection}`;
  if (!pointsCache.has(key)) pointsCache.set(key, await api.points(model, view.projection));
  return pointsCache.get(key);
}

// A slower, older draw (the projection or the models changed meanwhile) must not land last.
const guard = latestOnly();

async function drawMaps() {
  const [reference] = view.models;
  const loaded = await busy(null, guard(Promise.all(view.models.map(pointsOf))));
  if (loaded === STALE) return;
  view.models.forEach((m, i) => (fields[m] = buildFields(loaded[i])));
  fillColours();
  const { align, projection, colour } = view;
  const shown = await busy(
    null,
    guard(
      Promise.all([
        Promise.all(view.models.map((m, i) => (align ? alignedPoints(reference, m, projection, loaded[i]) : loaded[i]))),
        colour === CHANGE_FIELD ? changeFields(view.models) : null,
      ]),
    ),
  );
  if (shown === STALE) return;
  const [points, changed] = shown;
  await Promise.all(
    view.models.map((m, i) =>
      grid.maps[m].draw({
        points: points[i],
        key: `${m}/${projection}/${align ? `aligned to ${reference}` : "own"}`,
        colour: changed ? changed[m] : fields[m][colour] || null,
        highlighted: view.highlighted,
      }),
    ),
  );
  if (align) await grid.shareRanges();
  document.body.dataset.aligned = String(align);
}

function redraw() {
  saveUrl();
  drawMaps().catch((error) => toast(error.message));
}

function showOther() {
  resetTopology(view.models[0], view.other);
  if (view.other) showChanged(view.models[0], view.other, { describe, pick });
}

/** Compare view.models: the table, then every map (a 409 names the difference). */
async function load() {
  document.body.dataset.ready = "false";
  const [reference] = view.models;
  try {
    comparable = (await busy(null, api.comparable(reference))).comparable;
    if (!keepComparable(reference)) {
      showError("");
      fillControls();
      saveUrl();
      showAlone(reference);
      document.body.dataset.ready = "true";
      return;
    }
    view.table = await busy(null, api.compareTable(view.models));
  } catch (error) {
    showError(error.message);
    document.body.dataset.ready = "true";
    return;
  }
  showError("");
  $("#compare-needs").hidden = true;
  fillControls();
  setProjectionRadios();
  saveUrl();
  renderTable(view.table, reference);
  grid.setModels(view.models, view.models.length > 2);
  grid.setTool(view.tool);
  view.highlighted = null;
  showCount();
  resetTopology(reference, view.other);
  try {
    await drawMaps();
  } catch (error) {
    toast(error.message);
  }
  showOther(); // after the points: the list names each item's label
  saveUrl();
  document.body.dataset.ready = "true";
}

function setModels(names) {
  view.models = names;
  return load();
}

$("#reference-select").addEventListener("change", (event) => {
  const reference = event.target.value;
  setModels([reference, ...view.models.filter((m) => m !== reference)]);
});
$("#add-model-button").addEventListener("click", () => {
  const name = $("#add-model").value;
  if (name && !view.models.includes(name)) setModels([...view.models, name]);
});
$("#other-select").addEventListener("change", (event) => {
  view.other = event.target.value;
  saveUrl();
  showOther();
});
$("#align-toggle").addEventListener("change", (event) => {
  view.align = event.target.checked;
  redraw();
});
onProjectionChange((projection) => {
  view.projection = projection;
  redraw();
});
$("#colour-select").addEventListener("change", (event) => {
  view.colour = event.target.value;
  redraw();
});
$$('input[name="tool"]').forEach((radio) =>
  radio.addEventListener("change", () => {
    view.tool = radio.value;
    grid.setTool(view.tool);
  }),
);
$("#clear-highlight").addEventListener("click", () => {
  view.highlighted = null;
  showCount();
  grid.highlight(null);
});

function showNeeds() {
  // Not an error: what to do to have something to compare.
  const needs = $("#compare-needs");
  needs.replaceChildren(
    "Comparing needs a second model on the same items, and this server has ",
    models.size ? "one" : "none",
    ". Train another on the same dataset, for example ",
    el("code", { text: "latent-explorer train --dataset digits --model ae --out WORKSPACE" }),
    " (or import embeddings of the same items with ",
    el("code", { text: "latent-explorer import-embeddings" }),
    "), restart the server, and come back here.",
  );
  needs.hidden = false;
  $("#compare-layout").hidden = true;
  $(".controls").hidden = true; // nothing to choose between
  document.body.dataset.ready = "true";
}

/** The models a link names: ?models=A,B,C (&ref=B puts B first), or the older ?a=A&b=B. */
function modelsFromUrl(params) {
  const asked = params.get("models")
    ? params.get("models").split(",")
    : [params.get("a"), params.get("b")].filter(Boolean);
  const ref = params.get("ref");
  const ordered = ref ? [ref, ...asked.filter((m) => m !== ref)] : asked;
  const unknown = ordered.filter((m) => !models.has(m));
  const known = [...new Set(ordered.filter((m) => models.has(m)))];
  const names = [...models.keys()];
  if (known.length === 0) known.push(names[0]);
  if (known.length === 1) known.push(names.find((n) => n !== known[0]));
  if (unknown.length) toast(`No model named ${unknown.join(" or ")} is loaded; showing ${known.join(", ")}.`);
  return known;
}

async function start() {
  const params = new URLSearchParams(location.search);
  let list;
  try {
    list = (await busy(null, api.models())).models;
  } catch (error) {
    showError(error.message);
    return;
  }
  for (const m of list) models.set(m.name, m);
  if (models.size < 2) {
    showNeeds();
    return;
  }
  view.projection = params.get("proj") || view.projection;
  view.colour = params.get("colour");
  view.align = params.get("align") === "1";
  view.other = params.get("vs");
  await setModels(modelsFromUrl(params));
}

// A handle for the console and the browser tests.
window.latentCompare = {
  view,
  get maps() {
    return grid.maps;
  },
};

start();

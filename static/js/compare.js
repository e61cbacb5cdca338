// The compare page (/compare?a=MODEL&b=MODEL): two models of the same items, their maps side
// by side and linked by item id (select or click in one, the same items light up in the
// other), and their quality figures in a table. GET /api/compare says whether they align.

import { api } from "./api.js";
import { resetTopology } from "./compare-topology.js";
import { LatentMap } from "./map.js";
import { buildFields } from "./places.js";
import { chooseProjection, onProjectionChange, showProjections } from "./projections.js";
import { $, $$, busy, el, latestOnly, STALE, toast } from "./ui.js";

const view = {
  a: null,
  b: null,
  projection: null, // null: the models' default_projection (GET /api/models)
  colour: null,
  tool: "select",
  highlighted: null, // sorted item ids lit up in both maps, or null
  comparison: null, // GET /api/compare's answer
};
const models = new Map(); // name -> ModelOut
const fields = { a: {}, b: {} };
// The map component of the explorer page, without its probe: a click selects the item.
const MAP_OPTIONS = {
  tool: "select",
  faded: 0.15,
  hoverLabel: (id) => `item #${id}`,
  clickSelects: true,
  doubleClickResets: true,
};
const maps = {
  a: new LatentMap($("#map-a"), MAP_OPTIONS).on("select", (ids, how) => selected("a", ids, how)),
  b: new LatentMap($("#map-b"), MAP_OPTIONS).on("select", (ids, how) => selected("b", ids, how)),
};

/** The user selected `ids` (null: cleared) in map `side`: light up the same ids everywhere. */
function selected(side, ids, how) {
  view.highlighted = ids && ids.length ? [...ids].sort((p, q) => p - q) : null;
  const other = side === "a" ? "b" : "a";
  // A box or lasso already shows in its own map; a click highlights the point there too.
  const updates = [maps[other].highlight(view.highlighted)];
  if (how === "click") updates.push(maps[side].highlight(view.highlighted));
  showCount();
  return Promise.all(updates);
}

function showCount() {
  const n = view.highlighted ? view.highlighted.length : 0;
  $("#clear-highlight").disabled = n === 0;
  const where = n ? `${n} item${n === 1 ? "" : "s"} highlighted in both maps.` : "";
  $("#compare-info").textContent =
    where || "Select points in either map (or click one): the same items light up in the other.";
  document.body.dataset.highlighted = String(n);
}

// ---- the figures table ---------------------------------------------------------------------
function formatFigure(key, value) {
  if (value === null || value === undefined) return "n/a";
  if (key.includes("accuracy")) return `${(100 * value).toFixed(1)}%`;
  if (key.includes("psnr")) return `${value.toFixed(1)} dB`;
  if (key.startsWith("reconstruction")) return value.toFixed(4);
  return value.toFixed(3);
}

function renderTable(comparison) {
  $("#head-a").textContent = `A: ${comparison.a}`;
  $("#head-b").textContent = `B: ${comparison.b}`;
  const rows = comparison.figures.map((f) => {
    const both = f.a !== null && f.b !== null && f.a !== f.b;
    const aBetter = both && (f.better === "higher" ? f.a > f.b : f.a < f.b);
    const cell = (value, better) =>
      el("td", {
        class: [value === null ? "na" : "", better ? "better" : ""].join(" ").trim() || null,
        text: formatFigure(f.key, value),
      });
    return el(
      "tr",
      { dataset: { key: f.key } },
      el("th", { scope: "row", text: f.label, title: `${f.better} is better` }),
      cell(f.a, both && aBetter),
      cell(f.b, both && !aBetter),
    );
  });
  $("#figures tbody").replaceChildren(...rows);
}

// ---- controls ---------------------------------------------------------------------------------
function fillSelects() {
  for (const side of ["a", "b"]) {
    const select = $(`#model-${side}`);
    select.replaceChildren(
      ...[...models.values()].map((m) =>
        el("option", { value: m.name, text: `${m.name} (${m.n_items} items)` }),
      ),
    );
    select.value = view[side];
  }
}

function commonFields() {
  const names = Object.keys(fields.a).filter((name) => name in fields.b);
  const select = $("#colour-select");
  select.replaceChildren(
    ...names.map((name) => el("option", { value: name, text: fields.a[name].label })),
  );
  if (!names.includes(view.colour)) {
    const label = models.get(view.a).label_field;
    view.colour = names.includes(label) ? label : names[0] || null;
  }
  select.value = view.colour || "";
}

function setProjectionRadios() {
  const [a, b] = [models.get(view.a), models.get(view.b)];
  const shared = a.projections.filter((p) => b.projections.includes(p));
  view.projection = chooseProjection(shared, view.projection, [a.default_projection, b.default_projection]);
  showProjections(shared, view.projection);
}

function saveUrl() {
  const query = new URLSearchParams({ a: view.a, b: view.b, proj: view.projection });
  if (view.colour) query.set("colour", view.colour);
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function showError(message) {
  const box = $("#compare-error");
  box.textContent = message;
  box.hidden = !message;
  $("#compare-layout").hidden = Boolean(message);
}

// ---- loading ----------------------------------------------------------------------------------
// A slower, older draw (the projection or a model changed meanwhile) must not land last.
const guard = latestOnly();

async function drawMaps() {
  const loaded = await busy(
    null,
    guard(Promise.all([api.points(view.a, view.projection), api.points(view.b, view.projection)])),
  );
  if (loaded === STALE) return;
  const [pa, pb] = loaded;
  fields.a = buildFields(pa);
  fields.b = buildFields(pb);
  commonFields();
  const draw = (side, points) =>
    maps[side].draw({
      points,
      key: `${points.model}/${points.projection}`,
      colour: fields[side][view.colour] || null,
      highlighted: view.highlighted,
    });
  await Promise.all([draw("a", pa), draw("b", pb)]);
}

/** Compare view.a with view.b: the table, then both maps (a 409 names the difference). */
async function load() {
  setProjectionRadios();
  saveUrl();
  $("#title-a").textContent = `A: ${view.a}`;
  $("#title-b").textContent = `B: ${view.b}`;
  resetTopology(view.a, view.b);
  document.body.dataset.ready = "false";
  try {
    view.comparison = await busy(null, api.compare(view.a, view.b));
  } catch (error) {
    showError(error.message);
    document.body.dataset.ready = "true";
    return;
  }
  showError("");
  renderTable(view.comparison);
  view.highlighted = null;
  showCount();
  try {
    await drawMaps();
  } catch (error) {
    toast(error.message);
  }
  saveUrl();
  document.body.dataset.ready = "true";
}

for (const side of ["a", "b"]) {
  $(`#model-${side}`).addEventListener("change", (event) => {
    view[side] = event.target.value;
    load();
  });
}
onProjectionChange((projection) => {
  view.projection = projection;
  saveUrl();
  drawMaps().catch((error) => toast(error.message));
});
$("#colour-select").addEventListener("change", (event) => {
  view.colour = event.target.value;
  saveUrl();
  drawMaps().catch((error) => toast(error.message));
});
$$('input[name="tool"]').forEach((radio) =>
  radio.addEventListener("change", () => {
    view.tool = radio.value;
    maps.a.setTool(view.tool);
    maps.b.setTool(view.tool);
  }),
);
$("#clear-highlight").addEventListener("click", () => {
  view.highlighted = null;
  showCount();
  maps.a.highlight(null);
  maps.b.highlight(null);
});

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
    return;
  }
  const names = [...models.keys()];
  view.a = models.has(params.get("a")) ? params.get("a") : names[0];
  view.b = models.has(params.get("b")) ? params.get("b") : names.find((n) => n !== view.a);
  const unknown = ["a", "b"].map((k) => params.get(k)).filter((n) => n && !models.has(n));
  if (unknown.length) toast(`No model named ${unknown.join(" or ")} is loaded; showing ${view.a} and ${view.b}.`);
  view.projection = params.get("proj") || view.projection;
  view.colour = params.get("colour");
  fillSelects();
  await load();
}

// A handle for the console and the browser tests.
window.latentCompare = { view, maps };

start();

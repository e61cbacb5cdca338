// The Topology tab: the persistence barcode (or diagram) of the model's latents, Betti numbers
// at a scale the slider picks, and bar clicks lit up on the map. The server computes it on
// first request (seconds, in a process of its own): the tab says so while it waits.

/* global Plotly */
import { api } from "./api.js";
import { alive, barcodeFigure, scaleShapes, topScale } from "./barcode.js";
import { map } from "./explorer-map.js";
import { on, state } from "./state.js";
import { $, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-topology");
const plot = $("#topo-plot");
const guard = latestOnly();

let report = null; // GET topology's answer for state.model
let reportModel = null;
let plotted = false;

const view = () => root.querySelector("input[name=topo-view]:checked").value;
const chosenClass = () => $("#topo-of").value;

/** The diagrams of the whole set or of the chosen class. */
function diagrams() {
  const label = chosenClass();
  if (!label) return report;
  return report.classes.find((c) => c.label === label) || report;
}

async function draw() {
  if (!report) return;
  const d = diagrams();
  const slider = $("#topo-scale");
  slider.max = String(topScale(d));
  slider.step = String(topScale(d) / 500);
  const figure = barcodeFigure(d, { diagram: view() === "diagram", scale: Number(slider.value) });
  await Plotly.react(plot, figure.data, figure.layout, { displayModeBar: false, responsive: true });
  if (!plotted) {
    plot.on("plotly_click", (event) => pick(event.points[0].customdata));
    plotted = true;
  }
  plot.dataset.bars = String(figure.rows); // how many bars are drawn (betti's scale line)
  betti();
}

function betti() {
  const d = diagrams();
  const r = Number($("#topo-scale").value);
  $("#topo-scale-value").textContent = fmt(r, 3);
  const b0 = alive(d.h0, r);
  const b1 = alive(d.h1, r);
  const classes = report.n_classes ? ` (the data has ${report.n_classes} classes)` : "";
  const of = chosenClass() ? ` of class ${chosenClass()}` : "";
  $("#topo-betti").textContent = `At scale ${fmt(r, 3)}, the latents${of} form ${b0} connected component${b0 === 1 ? "" : "s"}${classes} and ${b1} loop${b1 === 1 ? "" : "s"} (Betti numbers b0 = ${b0}, b1 = ${b1}).`;
  root.dataset.b0 = String(b0);
  root.dataset.b1 = String(b1);
  // Only the scale line moves: the bars stay as drawn.
  Plotly.relayout(plot, { shapes: scaleShapes(d, Number(plot.dataset.bars), r, view() === "diagram") });
}

/** A pressed bar: its groups (H0) or its loop (H1) on the map. */
async function pick([dim, bar]) {
  const said = $("#topo-picked");
  if (chosenClass()) {
    said.textContent = "Bars of one class are for reading: choose “every item” to see a bar on the map.";
    return;
  }
  clearError(root);
  clearMarks();
  if (dim === 0 && report.h0[bar][1] === null) {
    said.textContent = "This bar never ends: it is the one component every point joins in the end.";
    return;
  }
  let answer;
  try {
    answer = await guard(api.topologyBar(state.model, dim, bar));
    if (answer === STALE) return;
  } catch (error) {
    showError(root, error);
    return;
  }
  if (dim === 0) {
    // The smaller group ringed, both lit and the rest faded: the larger group keeps its colours.
    const [small, large] = [...answer.groups].sort((p, q) => p.length - q.length);
    map.highlight([...small, ...large]);
    map.setOverlayIds("topoA", small);
    said.textContent = `H0 bar ${bar}: at distance ${fmt(answer.scale, 3)} a group of ${small.length} item${small.length === 1 ? "" : "s"} (blue rings) joins a group of ${large.length} (the other lit points); the faded points join later.`;
  } else {
    map.setOverlayIds("loop", answer.ids);
    said.textContent = `H1 bar ${bar}: the loop passes near these ${answer.ids.length} items (yellow), read from its representative cocycle: an approximation of where the loop lies.`;
  }
  root.dataset.picked = `${dim}:${bar}`; // for tests
}

function clearMarks() {
  if (!root.dataset.picked) return;
  for (const name of ["topoA", "loop"]) map.setOverlayIds(name, []);
  if (root.dataset.picked.startsWith("0:")) map.highlight(state.selection.length ? state.selection : null);
  delete root.dataset.picked;
}

async function load() {
  if (root.hidden || !state.model || (report && reportModel === state.model)) return;
  const model = state.model;
  clearError(root);
  $("#topo-result").hidden = true;
  const progress = $("#topo-progress");
  progress.hidden = false;
  const started = performance.now();
  const tick = setInterval(() => {
    const seconds = Math.round((performance.now() - started) / 1000);
    $("#topo-progress-text").textContent = `Computing persistent homology… ${seconds} s (the first time takes a few seconds)`;
  }, 500);
  try {
    const answer = await guard(api.topology(model));
    if (answer === STALE || model !== state.model) return;
    report = answer;
    reportModel = model;
  } catch (error) {
    showError(root, error);
    return;
  } finally {
    clearInterval(tick);
    progress.hidden = true;
  }
  $("#topo-of").replaceChildren(
    el("option", { value: "", text: `every item (${report.n_landmarks} of ${report.n_items} sampled)` }),
    ...report.classes.map((c) => el("option", { value: c.label, text: `class ${c.label} (${c.n_items})` })),
  );
  // The slider's range first (a value past the old range would be clamped to it), then a
  // scale where the last 2 % of merges are still to come: the clusters a person looks for.
  const slider = $("#topo-scale");
  slider.max = String(topScale(report));
  slider.step = String(topScale(report) / 500);
  const deaths = report.h0.map(([, d]) => d).filter((d) => d !== null);
  slider.value = String(deaths.length ? deaths[Math.floor(deaths.length * 0.98)] : 0);
  $("#topo-result").hidden = false;
  await draw();
  root.dataset.model = model; // for tests: the barcode is this model's
}

function setup() {
  on("tab", (tab) => {
    if (tab === "topology") load();
    else clearMarks();
  });
  $("#topo-of").addEventListener("change", () => {
    clearMarks();
    draw();
  });
  for (const input of root.querySelectorAll("input[name=topo-view]")) input.addEventListener("change", draw);
  $("#topo-scale").addEventListener("input", betti);
}

export const panel = {
  name: "topology",
  label: "Topology",
  setup,
  reset: () => {
    report = null;
    reportModel = null;
    delete root.dataset.model;
    clearMarks();
  },
  restore: () => load(),
};

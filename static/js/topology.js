// The Topology tab: the persistence barcode (or diagram) of the model's latents, Betti numbers
// at a scale the slider picks, and bar clicks lit up on the map. The server computes it on
// first request (seconds, in a process of its own): the tab says so while it waits.

/* global Plotly */
import { api } from "./api.js";
import { map } from "./explorer-map.js";
import { on, state } from "./state.js";
import { $, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-topology");
const plot = $("#topo-plot");
const guard = latestOnly();
const SHOWN = 50; // bars drawn per dimension: the longest ones (the rest are noise-scale)
const COLOURS = ["#0072b2", "#d55e00"]; // H0, H1

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

const finiteDeaths = (d) => [...d.h0, ...d.h1].map(([, death]) => death).filter((x) => x !== null);
const topScale = (d) => Math.max(1e-9, ...finiteDeaths(d)) * 1.05;
const alive = (bars, r) => bars.filter(([b, d]) => b <= r && (d === null || d > r)).length;

/** The longest `SHOWN` bars of each dimension, each with its position in the full diagram. */
function shownBars(d) {
  const rows = [];
  for (const [dim, bars] of [[0, d.h0], [1, d.h1]]) {
    const indexed = bars.map(([b, death], i) => ({ dim, i, b, death }));
    const length = (x) => (x.death === null ? Infinity : x.death - x.b);
    indexed.sort((p, q) => length(q) - length(p));
    rows.push(...indexed.slice(0, SHOWN));
  }
  return rows;
}

function traces(d, rows) {
  const top = topScale(d);
  const end = (x) => (x.death === null ? top : x.death);
  const label = (x) => `H${x.dim} bar ${x.i}: ${fmt(x.b, 3)} to ${x.death === null ? "∞" : fmt(x.death, 3)}`;
  return [0, 1].map((dim) => {
    const mine = rows.filter((x) => x.dim === dim);
    const common = {
      name: `H${dim}`,
      customdata: mine.map((x) => [x.dim, x.i]),
      hovertext: mine.map(label),
      hoverinfo: "text",
      marker: { color: COLOURS[dim] },
    };
    if (view() === "diagram") {
      return { ...common, type: "scatter", mode: "markers", x: mine.map((x) => x.b), y: mine.map(end) };
    }
    return {
      ...common,
      type: "bar",
      orientation: "h",
      base: mine.map((x) => x.b),
      x: mine.map((x) => end(x) - x.b),
      y: mine.map((x) => rows.indexOf(x)),
    };
  });
}

function layout(d, rows, scale) {
  const top = topScale(d);
  const diagram = view() === "diagram";
  const line = diagram
    ? [
        { type: "line", x0: 0, y0: 0, x1: top, y1: top, line: { color: "#888", width: 1 } },
        { type: "line", x0: scale, y0: 0, x1: scale, y1: top, line: { color: "#444", dash: "dot" } },
      ]
    : [{ type: "line", x0: scale, x1: scale, y0: -0.5, y1: rows.length - 0.5, line: { color: "#444", dash: "dot" } }];
  return {
    margin: { l: 40, r: 10, t: 10, b: 40 },
    height: diagram ? 320 : Math.min(600, Math.max(240, rows.length * 6 + 60)),
    showlegend: true,
    legend: { orientation: "h", y: 1.08 },
    bargap: 0.15,
    xaxis: { title: { text: diagram ? "birth" : "scale (latent distance)" }, range: [0, top], zeroline: false },
    yaxis: diagram ? { title: { text: "death" }, range: [0, top * 1.02] } : { visible: false, autorange: "reversed" },
    shapes: line,
  };
}

async function draw() {
  if (!report) return;
  const d = diagrams();
  const slider = $("#topo-scale");
  slider.max = String(topScale(d));
  slider.step = String(topScale(d) / 500);
  const rows = shownBars(d);
  const scale = Number(slider.value);
  await Plotly.react(plot, traces(d, rows), layout(d, rows, scale), { displayModeBar: false, responsive: true });
  if (!plotted) {
    plot.on("plotly_click", (event) => pick(event.points[0].customdata));
    plotted = true;
  }
  betti();
  plot.dataset.bars = String(rows.length); // for tests: what is drawn
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
  Plotly.relayout(plot, { shapes: layout(d, shownBars(d), r).shapes });
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
  const deaths = report.h0.map(([, d]) => d).filter((d) => d !== null);
  $("#topo-scale").value = String(deaths.length ? deaths[Math.floor(deaths.length * 0.98)] : 0);
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

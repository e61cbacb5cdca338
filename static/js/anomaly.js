// The Anomaly tab: for a model trained on its normal classes only, the distribution of an
// anomaly score (reconstruction error or kNN distance) for normal and anomalous items, the ROC
// curve and its AUC (GET anomaly), and a threshold that rings the items and uploads at or above
// it on the map, with how many there are and the true and false positive rates there.

/* global Plotly */
import { api } from "./api.js";
import { map } from "./explorer-map.js";
import { on, state } from "./state.js";
import { uploaded } from "./upload.js";
import { $, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-anomaly");
const slider = $("#anomaly-threshold");
const guard = latestOnly();
const COLOURS = ["#9aa5b1", "#0072b2", "#d55e00"]; // trained on, held out, anomalous
const HELD_OUT = 1;
const ANOMALOUS = 2;

let report = null; // GET anomaly's answer for (reportKey)
let reportKey = null;

const score = () => root.querySelector("input[name=anomaly-score]:checked").value;
const digits = (v) => (Math.abs(v) < 0.01 ? v.toExponential(2) : fmt(v, 3));

/** The threshold where TPR - FPR is largest (Youden's J): where the slider starts. */
function bestThreshold(roc) {
  let best = 0;
  roc.tpr.forEach((t, i) => {
    if (t - roc.fpr[i] > roc.tpr[best] - roc.fpr[best]) best = i;
  });
  return roc.thresholds[best];
}

function histogramFigure() {
  const { edges, groups } = report;
  const centres = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);
  const width = edges[1] - edges[0];
  const data = groups.map((g, i) => ({
    type: "bar",
    name: `${g.name} (${g.n_items})`,
    x: centres,
    y: g.counts.map((c) => (g.n_items ? c / g.n_items : 0)),
    width,
    marker: { color: COLOURS[i] },
    opacity: 0.6,
    visible: i === 0 ? "legendonly" : true,
    hovertemplate: `${g.name}: %{y:.1%} of its items<extra></extra>`,
  }));
  const layout = {
    height: 250,
    margin: { l: 44, r: 8, t: 40, b: 36 },
    barmode: "overlay",
    xaxis: { title: { text: report.score === "knn" ? `mean distance to ${report.k} nearest normal latents` : "reconstruction error (MSE)" } },
    yaxis: { title: { text: "share of group" }, tickformat: ".0%" },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
    shapes: [thresholdLine(Number(slider.value))],
  };
  return { data, layout };
}

const thresholdLine = (t) => ({ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 2 } });

function rocFigure() {
  const { roc } = report;
  const data = [
    { x: [0, 1], y: [0, 1], mode: "lines", line: { dash: "dot", color: "#9aa5b1" }, hoverinfo: "skip", showlegend: false },
    { x: roc.fpr, y: roc.tpr, mode: "lines", line: { color: "#0072b2" }, name: `ROC (AUC ${fmt(roc.auc, 3)})`, hovertemplate: "FPR %{x:.2f}, TPR %{y:.2f}<extra></extra>" },
    { x: [0], y: [0], mode: "markers", marker: { color: "#d62728", size: 10 }, name: "threshold", hoverinfo: "skip" },
  ];
  const layout = {
    height: 230,
    margin: { l: 44, r: 8, t: 8, b: 36 },
    xaxis: { title: { text: "false positive rate (held-out normal)" }, range: [0, 1] },
    yaxis: { title: { text: "true positive rate (anomalous)" }, range: [0, 1.02] },
    showlegend: false,
  };
  return { data, layout };
}

/** Ring the items and uploads at or above the threshold; say how many and the rates there. */
function applyThreshold() {
  if (!report) return;
  const t = Number(slider.value);
  $("#anomaly-threshold-value").textContent = digits(t);
  const above = [];
  const flagged = [0, 0, 0];
  const sizes = [0, 0, 0];
  report.scores.forEach((s, id) => {
    const g = report.item_groups[id];
    sizes[g] += 1;
    if (s >= t) {
      above.push(id);
      flagged[g] += 1;
    }
  });
  map.setOverlayIds("anomalous", above);
  const rate = (g) => (sizes[g] ? flagged[g] / sizes[g] : NaN);
  const tpr = rate(ANOMALOUS);
  const fpr = rate(HELD_OUT);
  $("#anomaly-rates").textContent = `${above.length} of ${report.scores.length} items score at or above ${digits(t)} (red rings on the map): ${flagged[ANOMALOUS]} of ${sizes[ANOMALOUS]} anomalous (true positive rate ${fmt(tpr, 2)}), ${flagged[HELD_OUT]} of ${sizes[HELD_OUT]} held-out normal (false positive rate ${fmt(fpr, 2)}), ${flagged[0]} of ${sizes[0]} trained on.`;
  root.dataset.above = String(above.length);
  markUploads(t);
  Plotly.relayout($("#anomaly-hist"), { shapes: [thresholdLine(t)] });
  if (report.roc) Plotly.restyle($("#anomaly-roc"), { x: [[fpr]], y: [[tpr]] }, [2]);
}

/** The uploads' scores (the encode answer carries both) and rings on the ones above. */
function markUploads(t = Number(slider.value)) {
  const said = $("#anomaly-uploads");
  if (!report) return;
  const key = report.score === "knn" ? "knn_score" : "reconstruction_error";
  const items = uploaded().filter((item) => item[key] !== null && item[key] !== undefined);
  const above = items.filter((item) => item[key] >= t);
  map.setOverlay("anomalousUploads", above.map((item) => item.positions[state.projection]));
  said.replaceChildren(
    ...(items.length ? [`Uploads: ${above.length} of ${items.length} at or above the threshold. `] : ["Upload images (Upload tab) to score them here. "]),
    ...items.map((item, i) => el("span", { class: "anomaly-upload", text: `${item.filename || `upload ${i + 1}`}: ${digits(item[key])}${item[key] >= t ? " (above)" : ""}. ` })),
  );
  root.dataset.uploadsAbove = String(above.length);
}

async function load() {
  if (root.hidden || !state.model) return;
  const key = `${state.model}|${score()}`;
  if (report && reportKey === key) return;
  clearError(root);
  clearMarks();
  $("#anomaly-result").hidden = true;
  $("#anomaly-progress").hidden = false;
  try {
    const answer = await guard(api.anomaly(state.model, score()));
    if (answer === STALE) return;
    report = answer;
    reportKey = key;
  } catch (error) {
    report = null;
    showError(root, error);
    return;
  } finally {
    $("#anomaly-progress").hidden = true;
  }
  const lo = report.edges[0];
  const hi = report.edges[report.edges.length - 1];
  slider.min = String(lo);
  slider.max = String(hi);
  slider.step = String((hi - lo) / 1000);
  slider.value = String(report.roc ? Math.min(hi, bestThreshold(report.roc)) : (lo + hi) / 2);
  const classes = `Trained on ${report.normal_classes.join(", ")}; anomalous: ${report.anomalous_classes.join(", ")}.`;
  $("#anomaly-auc").textContent = report.roc
    ? `ROC AUC ${fmt(report.roc.auc, 3)} (held-out normal items against the anomalous classes). ${classes}`
    : `No ROC curve: the model has no held-out normal items or no anomalous ones. ${classes}`;
  root.dataset.auc = report.roc ? String(report.roc.auc) : "";
  $("#anomaly-result").hidden = false;
  const hist = histogramFigure();
  await Plotly.react($("#anomaly-hist"), hist.data, hist.layout, { displayModeBar: false, responsive: true });
  $("#anomaly-roc").hidden = !report.roc;
  if (report.roc) {
    const roc = rocFigure();
    await Plotly.react($("#anomaly-roc"), roc.data, roc.layout, { displayModeBar: false, responsive: true });
  }
  applyThreshold();
  root.dataset.model = state.model; // for tests: the figures are this model's
  root.dataset.score = report.score;
}

function clearMarks() {
  map.setOverlayIds("anomalous", []);
  map.setOverlay("anomalousUploads", []);
}

function setup() {
  on("tab", (tab) => {
    if (tab === "anomaly") {
      load();
      if (report) applyThreshold();
    } else clearMarks();
  });
  on("uploads", () => {
    if (!root.hidden) markUploads();
  });
  for (const input of root.querySelectorAll("input[name=anomaly-score]")) input.addEventListener("change", load);
  slider.addEventListener("input", applyThreshold);
}

export const panel = {
  name: "anomaly",
  label: "Anomaly",
  setup,
  reset: () => {
    report = null;
    reportKey = null;
    delete root.dataset.model;
    clearMarks();
  },
  restore: () => load(),
};

// The Selection card: what the current lasso or box selection (or group A or B) holds, from
// POST selection/stats: its count, its labels beside the whole set's, its average member (the
// mean latent decoded) and medoid, its reconstruction errors and faithfulness beside the whole
// set's, and a summary of each metadata field; with CSV and JSON exports (export.js). Shown
// whenever the page has a selection or a group; the map fades what is not selected.

/* global Plotly */
import { api } from "./api.js";
import { can } from "./capabilities.js";
import { exportRows } from "./export.js";
import { goTo } from "./preview.js";
import { loaded, on, state } from "./state.js";
import { $, $$, busy, clearError, debounce, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const card = $("#selection-stats");
const which = $("#selection-which");
const guard = latestOnly();
const WHAT = { selection: "selection", a: "group A", b: "group B" };

let shown = ""; // the request the card shows: model, projection and ids
let lastSelection = 0; // the selection's size last time: a new one switches the card to it

function chosenIds() {
  return { selection: state.selection, a: state.groupA, b: state.groupB }[which.value];
}

/** Show the selection's figures (called after each change of selection, group or map). */
async function refresh() {
  const any = state.selection.length || state.groupA.length || state.groupB.length;
  if (state.selection.length && state.selection.length !== lastSelection) which.value = "selection";
  lastSelection = state.selection.length;
  if (!chosenIds().length && any) which.value = state.selection.length ? "selection" : state.groupA.length ? "a" : "b";
  card.hidden = !any || !loaded.points;
  if (card.hidden) {
    shown = "";
    delete card.dataset.count;
    return;
  }
  const ids = chosenIds();
  const key = `${state.model}|${state.projection}|${which.value}|${ids.join(",")}`;
  if (key === shown) return;
  shown = key;
  clearError(card);
  delete card.dataset.count; // for tests: set again once this selection's figures are in
  let stats;
  try {
    stats = await guard(busy(card, api.selectionStats(state.model, ids, state.projection)));
    if (stats === STALE) return;
  } catch (error) {
    shown = "";
    showError(card, error);
    return;
  }
  render(stats);
  card.dataset.count = String(stats.count);
}

function render(stats) {
  const share = (100 * stats.count) / stats.n_items;
  $("#selection-stats-count").textContent =
    `${stats.count.toLocaleString()} of ${stats.n_items.toLocaleString()} items (${fmt(share, 1)} %) in the ${WHAT[which.value]}.`;
  renderImages(stats);
  renderLabels(stats.labels);
  distribution("#selection-error-dist", "#selection-error-q", "Reconstruction error", stats.reconstruction_error, 4);
  distribution("#selection-faith-dist", "#selection-faith-q", `Faithfulness (${stats.projection})`, stats.faithfulness, 2);
  renderMetadata(stats.metadata);
  $("#selection-notes").replaceChildren(...stats.notes.map((note) => el("li", { text: `${note}.` })));
}

function renderImages(stats) {
  $("#selection-average-figure").hidden = !stats.average_member;
  if (stats.average_member) $("#selection-average").src = stats.average_member;
  const { medoid } = stats;
  const image = $("#selection-medoid-image");
  image.hidden = !can.images;
  if (can.images) image.src = api.thumbnailUrl(state.model, medoid.id);
  const sampled = medoid.exact ? "" : ` (of a sample of ${medoid.sample_size.toLocaleString()})`;
  $("#selection-medoid-caption").textContent = `Medoid #${medoid.id}${sampled}`;
  $("#selection-medoid").dataset.id = String(medoid.id);
  $("#selection-medoid").title = `Show the medoid, ${medoid.name}, in the preview`;
}

/** Each label: how many are selected and its share of the selection beside its share of all. */
function renderLabels(labels) {
  const table = $("#selection-labels");
  table.hidden = !labels;
  if (!labels) return;
  const widest = Math.max(...labels.map((row) => Math.max(row.share, row.total_share)), 1e-9);
  const bar = (value, kind) => el("span", { class: `bar ${kind}`, style: `width: ${(100 * value) / widest}%` });
  $("tbody", table).replaceChildren(
    ...labels.map((row) =>
      el(
        "tr",
        { dataset: { label: row.label, count: String(row.count) } },
        el("th", { scope: "row", text: row.label }),
        el("td", { text: String(row.count) }),
        el(
          "td",
          { title: `${fmt(100 * row.share, 1)} % of the selection, ${fmt(100 * row.total_share, 1)} % of all items` },
          el("span", { class: "bars" }, bar(row.share, "picked"), bar(row.total_share, "whole")),
        ),
      ),
    ),
  );
}

/** A histogram of the selection's values beside the whole set's (each as shares, so the two
 * shapes compare), and their quartiles; hidden when the model has no such values. */
function distribution(plotSelector, textSelector, title, dist, digits) {
  const plot = $(plotSelector);
  const text = $(textSelector);
  plot.hidden = text.hidden = !dist;
  if (!dist) return;
  const centres = dist.edges.slice(0, -1).map((edge, i) => (edge + dist.edges[i + 1]) / 2);
  const total = (counts) => counts.reduce((a, b) => a + b, 0) || 1;
  const shares = (counts) => counts.map((c) => c / total(counts));
  const trace = (counts, name, colour) => ({
    type: "bar", x: centres, y: shares(counts), name, marker: { color: colour }, opacity: 0.75,
    hovertemplate: `${name}: %{y:.1%}<extra></extra>`,
  });
  const layout = {
    title: { text: title, font: { size: 12 }, x: 0.02, y: 0.95 },
    barmode: "overlay", bargap: 0, height: 150, margin: { l: 36, r: 8, t: 22, b: 24 },
    showlegend: true, legend: { orientation: "h", x: 1, xanchor: "right", y: 1.12, font: { size: 11 } },
    yaxis: { tickformat: ".0%", fixedrange: true }, xaxis: { fixedrange: true },
  };
  const data = [trace(dist.total_counts, "all items", "#b8c2cc"), trace(dist.counts, "selection", "#2f6fbd")];
  Plotly.react(plot, data, layout, { displayModeBar: false, responsive: true });
  const [, q1, median, q3] = dist.quantiles || [];
  const [, t1, tMedian, t3] = dist.total_quantiles || [];
  text.textContent = `Median ${fmt(median, digits)} (quartiles ${fmt(q1, digits)}–${fmt(q3, digits)}); all items: ${fmt(tMedian, digits)} (${fmt(t1, digits)}–${fmt(t3, digits)}).`;
}

function renderMetadata(fields) {
  const rows = [];
  for (const f of fields) {
    let text;
    if (f.kind === "number") {
      text = f.mean === null
        ? "no values"
        : `mean ${fmt(f.mean, 3)} (all: ${fmt(f.total_mean, 3)}), range ${fmt(f.min, 3)} to ${fmt(f.max, 3)}`;
    } else {
      const more = f.n_distinct > f.top.length ? `, … (${f.n_distinct} values)` : "";
      text = f.top.map(({ value, count }) => `${value} ${count}`).join(", ") + more;
    }
    rows.push(el("dt", { text: f.field }), el("dd", { text, dataset: { field: f.field } }));
  }
  $("#selection-meta").replaceChildren(...rows);
}

function setup() {
  const later = debounce(refresh, 150); // a lasso with Shift held may change it in quick steps
  on("groups", later);
  on("projection", later);
  on("model", () => {
    shown = "";
    later();
  });
  which.addEventListener("change", refresh);
  $("#selection-medoid").addEventListener("click", (event) => goTo({ id: Number(event.currentTarget.dataset.id) }));
  $$("[data-selection-export]", card).forEach((button) =>
    button.addEventListener("click", () =>
      exportRows(chosenIds(), WHAT[which.value], button.dataset.selectionExport, true).catch((error) => showError(card, error)),
    ),
  );
}

export const panel = { name: "selection-stats", label: null, setup, reset: () => {}, restore: () => {} };

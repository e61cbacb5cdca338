// The compare page's Topology card: two models' barcodes side by side (the reference's and the
// one chosen under "What changed": the card stays two-model) and the bottleneck and
// Wasserstein distances between their diagrams (GET /api/compare/topology), on request, since
// the first computation takes seconds.

/* global Plotly */
import { api } from "./api.js";
import { barcodeFigure } from "./barcode.js";
import { $, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const card = $("#compare-topology");
const guard = latestOnly();
let pair = null; // [reference, other]: the models the card is for

/** The models changed: the card's old answer goes (`b` null: nothing to compare with). */
export function resetTopology(a, b) {
  pair = [a, b];
  $("#topology-run").disabled = !b;
  $("#topology-result").hidden = true;
  clearError(card);
  delete card.dataset.pair;
}

async function run() {
  const [a, b] = pair;
  clearError(card);
  $("#topology-progress").hidden = false;
  $("#topology-run").disabled = true;
  let answer;
  try {
    answer = await guard(Promise.all([api.topology(a), api.topology(b), api.topologyDistance(a, b)]));
    if (answer === STALE) return;
  } catch (error) {
    showError(card, error);
    return;
  } finally {
    $("#topology-progress").hidden = true;
    $("#topology-run").disabled = false;
  }
  const [ta, tb, distance] = answer;
  $("#topology-distances tbody").replaceChildren(
    ...["bottleneck", "wasserstein"].map((kind) =>
      el(
        "tr",
        { dataset: { kind } },
        el("th", { scope: "row", text: kind }),
        el("td", { text: fmt(distance.h0[kind], 3) }),
        el("td", { text: fmt(distance.h1[kind], 3) }),
      ),
    ),
  );
  $("#topology-result").hidden = false;
  for (const [side, t] of [["a", ta], ["b", tb]]) {
    const role = side === "a" ? "reference" : "compared";
    $(`#barcode-${side}-title`).textContent = `${role}: ${t.model} (${t.n_landmarks} of ${t.n_items} latents)`;
    const figure = barcodeFigure(t, { height: 360 });
    figure.layout.shapes = [];
    await Plotly.react($(`#barcode-${side}`), figure.data, figure.layout, { displayModeBar: false, responsive: true });
  }
  card.dataset.pair = `${a}|${b}`; // for tests: the answer is this pair's
}

$("#topology-run").addEventListener("click", () => run());

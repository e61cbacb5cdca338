// Neighbours of the current place: k and the metric are controls; the items are shown as a
// gallery and ringed on the map. Refreshed whenever the place changes while the tab is open.

import { api } from "./api.js";
import { current, describeRef, renderGallery } from "./places.js";
import { goTo } from "./preview.js";
import { ring, unring } from "./rings.js";
import { on, save, state } from "./state.js";
import { $, boundedNumber, busy, clearError, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-neighbours");
const guard = latestOnly();

function setup() {
  boundedNumber($("#nn-k"), { lo: 1, hi: 100, fallback: 8, what: "k" }, (k) => {
    state.nn.k = k;
    save();
    refresh();
  });
  $("#nn-metric").addEventListener("change", (event) => {
    state.nn.metric = event.target.value;
    save();
    refresh();
  });
  // The rings say "nearest to the place in the preview, as this tab asks": they go when
  // the tab closes or the place changes while it is closed.
  on("here", () => (root.hidden ? unring("neighbours") : refresh()));
  on("tab", (tab) => {
    if (tab === "neighbours") refresh();
    else unring("neighbours");
  });
}

async function refresh() {
  const place = current.get();
  if (!place || root.hidden) return;
  clearError(root);
  $("#nn-query").textContent = `Nearest to ${place.label || describeRef(place.ref)}`;
  let result;
  try {
    const body = { ...place.ref, k: state.nn.k, metric: state.nn.metric };
    result = await guard(busy(root, api.neighbours(state.model, body)));
    if (result === STALE) return;
  } catch (error) {
    showError(root, error);
    return;
  }
  renderGallery($("#nn-gallery"), result, (id) => goTo({ id }));
  ring("neighbours", result.ids);
}

function restore() {
  $("#nn-k").value = state.nn.k;
  $("#nn-metric").value = state.nn.metric;
  $("#nn-gallery").replaceChildren();
  $("#nn-query").textContent = "Click the map to choose a place.";
  clearError(root);
}

export const panel = { name: "neighbours", label: "Neighbours", setup, reset: () => {}, restore };

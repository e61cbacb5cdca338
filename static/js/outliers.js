// The outliers card: the items the current model reconstructs worst (GET outliers), as
// thumbnails with their error. Pressing one selects it on the map (as a lasso would) and shows
// it in the preview. Hidden for models without a decoder: they have no reconstruction errors.

import { api } from "./api.js";
import { can } from "./capabilities.js";
import { map } from "./explorer-map.js";
import { itemLabel } from "./places.js";
import { goTo } from "./preview.js";
import { loaded, on, state } from "./state.js";
import { $, clearError, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const COUNT = 20;
const card = $("#outliers");
const list = $("#outlier-list");
const guard = latestOnly();

/** Fill the card for the current model (called once its points are loaded). */
async function load() {
  const model = state.model;
  const usable = can.decode && Boolean(loaded.points && loaded.points.reconstruction_error);
  card.hidden = !usable;
  list.replaceChildren();
  clearError(card);
  delete card.dataset.model;
  if (!usable) return;
  let answer;
  try {
    answer = await guard(api.outliers(model, COUNT));
    if (answer === STALE) return;
  } catch (error) {
    showError(card, error);
    return;
  }
  list.replaceChildren(...answer.outliers.map(button));
  card.dataset.model = model; // for tests: the list is this model's
}

function button(outlier) {
  const error = fmt(outlier.error, 4);
  const title = `${itemLabel(outlier.id)}, ${outlier.name}: reconstruction error ${error}, percentile ${fmt(outlier.percentile, 1)}`;
  return el(
    "button",
    {
      type: "button",
      title,
      dataset: { id: String(outlier.id) },
      onclick: () => pick(outlier.id),
    },
    el("img", {
      class: "pixel",
      src: api.thumbnailUrl(state.model, outlier.id),
      alt: itemLabel(outlier.id),
      loading: "lazy",
    }),
    el("span", { text: `#${outlier.id}` }),
    el("span", { text: error }),
  );
}

function pick(id) {
  for (const node of list.children) node.setAttribute("aria-pressed", String(node.dataset.id === String(id)));
  map.selectIds([id]);
  goTo({ id });
}

// A card of its own: it fills as soon as a model's points are in ("model"), not waiting for
// the attribute vectors the tabs restore with.
export const panel = {
  name: "outliers",
  label: null,
  setup: () => on("model", load),
  reset: () => {},
  restore: () => {},
};

// The line under the header that describes the current model: its dataset, size, images,
// architecture and latent size, and its quality figures for the projection shown.

import { projectionLabel } from "./projections.js";
import { state } from "./state.js";
import { $, el } from "./ui.js";

/** Describe model `m` (a ModelOut of GET /api/models) for the projection in the state. */
export function describeModel(m) {
  const q = m.quality || {};
  const ds = m.dataset || {};
  const [c, h, w] = m.image_shape;
  const figure = (text, title) => el("span", { class: "figure", title, text });
  const images = m.has_images === false ? "no images" : `${w}×${h} ${c === 1 ? "grey" : "colour"}`;
  const parts = [
    `${ds.spec || "dataset"} · ${m.n_items} items · ${images} · ${m.architecture.toUpperCase()} · latent ${m.latent_dim}  `,
  ];
  if (Number.isFinite(q.reconstruction_mse)) {
    parts.push(figure(`MSE ${q.reconstruction_mse.toFixed(4)}`, "mean squared reconstruction error per pixel"));
  }
  if (Number.isFinite(q.knn_accuracy)) {
    parts.push(figure(`kNN ${(100 * q.knn_accuracy).toFixed(1)}%`, "label accuracy of a nearest-neighbour classifier in latent space"));
  }
  const name = projectionLabel(state.projection);
  const trust = q.trustworthiness && q.trustworthiness[state.projection];
  if (Number.isFinite(trust)) {
    parts.push(figure(`trust ${trust.toFixed(3)}`, `trustworthiness of the ${name} map: how well it keeps latent neighbours together (1 is perfect)`));
  }
  const faithful = q.faithfulness && q.faithfulness[state.projection];
  if (Number.isFinite(faithful)) {
    parts.push(figure(`faithful ${faithful.toFixed(3)}`, `mean faithfulness of the ${name} map: the share of each item's 10 nearest latent neighbours that are also its 10 nearest on the map (colour by it to see where)`));
  }
  $("#model-info").replaceChildren(...parts);
}

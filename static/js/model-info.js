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
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  if (Number.isFinite(q.reconstruction_mse)) {
    parts.push(figure(`MSE ${q.reconstruction_mse.toFixed(4)}`, reconstructionTitle(q)));
  }
  const split = q.split === "held-out" ? "held-out" : "CV";
  const splitText = `${q.split_n_test} ${q.split === "held-out" ? "items the encoder never trained on" : "items, 5-fold cross-validated (no recorded split)"}`;
  if (Number.isFinite(q.split_knn_accuracy)) {
    const all = Number.isFinite(q.knn_accuracy) ? `; ${pct(q.knn_accuracy)} cross-validated over all items` : "";
    parts.push(figure(`kNN ${pct(q.split_knn_accuracy)} ${split}`, `label accuracy of a 5-nearest-neighbour classifier in latent space, scored on ${splitText}${all}`));
  } else if (Number.isFinite(q.knn_accuracy)) {
    parts.push(figure(`kNN ${pct(q.knn_accuracy)}`, "label accuracy of a nearest-neighbour classifier in latent space"));
  }
  if (Number.isFinite(q.probe_accuracy)) {
    parts.push(figure(`probe ${pct(q.probe_accuracy)}`, `label accuracy of a linear read-out (logistic regression) of the latents, scored on ${splitText}`));
  }
  const r2 = q.shape_factor_r2;
  if (r2 && Number.isFinite(r2.x) && Number.isFinite(r2.y)) {
    // On shapes: does the latent keep where the shape is? (its label chip already gives the shape)
    const each = Object.entries(r2).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
    const shape = Number.isFinite(q.shape_accuracy) ? `; shape accuracy ${pct(q.shape_accuracy)}` : "";
    parts.push(figure(`position R² ${((r2.x + r2.y) / 2).toFixed(2)}`, `how well the latents predict each factor of the shape (kNN regression R² on ${splitText}; 1 is perfect, 0 no better than the mean): ${each}${shape}`));
  }
  if (Number.isFinite(q.uniformity)) {
    parts.push(figure(`unif ${q.uniformity.toFixed(2)}`, spreadTitle(q)));
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

function reconstructionTitle(q) {
  const lines = ["mean squared reconstruction error per pixel"];
  if (Number.isFinite(q.reconstruction_psnr)) lines.push(`PSNR ${q.reconstruction_psnr.toFixed(1)} dB`);
  const d = q.denoising;
  if (d && Number.isFinite(d.psnr)) {
    lines.push(`denoising at ${d.noise}: ${d.psnr.toFixed(1)} dB, against ${d.input_psnr.toFixed(1)} dB for the corrupted input`);
  }
  return lines.join("\n");
}

function spreadTitle(q) {
  const lines = ["uniformity: how evenly the normalised latents cover the sphere (0: all one point; more negative: more even)"];
  if (Number.isFinite(q.alignment)) lines.push(`alignment ${q.alignment.toFixed(3)}: distance between two augmented views of an image (0: they coincide)`);
  if (Number.isFinite(q.latent_std_ratio)) lines.push(`std ratio ${q.latent_std_ratio.toFixed(3)}: smallest over largest spread of a latent dimension (near 0: some collapsed)`);
  return lines.join("\n");
}

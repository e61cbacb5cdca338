// What the current model can do (GET /api/models: can_encode, can_decode, has_images) and the
// page fitted to it. Without an encoder (precomputed embeddings) there is no upload; without a
// decoder there is no traversal grid, and clicks, drags, paths and arithmetic show the nearest
// real item's image, labelled as such; without images, items show their names. A model whose
// decoder was fitted afterwards (decoder_source "fitted") decodes, and its images say so.

import { loaded } from "./state.js";
import { $ } from "./ui.js";

/** The current model's capabilities; a model list without them (an older server) can do all. */
export const can = {
  get encode() {
    return !loaded.model || loaded.model.can_encode !== false;
  },
  get decode() {
    return !loaded.model || loaded.model.can_decode !== false;
  },
  /** Decoded images come from a decoder fitted to the model afterwards (fit-decoder). */
  get fittedDecoder() {
    return Boolean(loaded.model) && loaded.model.decoder_source === "fitted";
  },
  get images() {
    return !loaded.model || loaded.model.has_images !== false;
  },
};

export const PROBE_HINTS = {
  decoded: "Click or drag on the map to decode any place.",
  nearest: "Click or drag on the map to see the nearest real item (this model has no decoder).",
};

/**
 * The item an answer's image shows when it is the nearest real item's rather than decoded:
 * {id, name}, else null. `step` picks one step of an interpolation path.
 */
export function nearestOf(answer, step = null) {
  if (!answer || answer.image_source !== "nearest") return null;
  if (step === null) return { id: answer.nearest_id, name: answer.nearest_name };
  return { id: answer.nearest_ids[step], name: answer.nearest_names[step] };
}

/** How an image is labelled: "Decoded", "Decoded, from a fitted decoder", or "Nearest real
 * image: <name>" (`lower`: in a sentence, "nearest real image: <name>"). */
export function imageCaption(nearest, { lower = false } = {}) {
  const decoded = can.fittedDecoder ? "Decoded, from a fitted decoder" : "Decoded";
  let text = can.decode ? decoded : "Nearest real image";
  if (nearest) text = `${can.images ? "Nearest real image" : "Nearest real item (no image)"}: ${nearest.name}`;
  return lower ? text[0].toLowerCase() + text.slice(1) : text;
}

/** Show or hide the controls the current model has no use for. */
export function applyCapabilities() {
  $("#tab-upload").hidden = !can.encode;
  $("#tab-traverse").hidden = !can.decode;
  // Only a model trained on its normal classes has anomaly scores (train --exclude-classes).
  $("#tab-anomaly").hidden = !(loaded.model && loaded.model.normal_classes);
  $('[data-export="grid"]').hidden = !can.decode;
  $('[data-export="strip"]').hidden = !can.images;
  $("#interp-png").hidden = !can.images;
  $("#exemplars-label").hidden = !can.images;
  const probe = $('input[name="tool"][value="probe"]').closest("label");
  probe.title = can.decode ? "Click or drag anywhere to decode that place" : PROBE_HINTS.nearest;
  if ($('input[name="tool"][value="probe"]').checked) {
    $("#map-hint").textContent = can.decode ? PROBE_HINTS.decoded : PROBE_HINTS.nearest;
  }
  $("#preview-caption").textContent = imageCaption(null);
  document.body.dataset.canDecode = String(can.decode);
  document.body.dataset.canEncode = String(can.encode);
  document.body.dataset.hasImages = String(can.images);
}

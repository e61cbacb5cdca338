// How far a decoded point is from the data (an answer's `data_distance`: the distance from its
// latent to the nearest item's, its percentile among the items' own nearest-item distances, and
// a placement): one label and one tooltip, for the preview and every panel showing decoded
// images, so a person sees when an image is an extrapolation.

import { el, fmt } from "./ui.js";

const CLASSES = {
  "inside the data": "dd-inside",
  "between clusters": "dd-between",
  "far from any item": "dd-far",
};

function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

// A map point this far from the items' positions (percentile of their own spacing on the
// map) is away from them: its latent is the inverse map's blend of the nearest items'.
const AWAY_FROM_POINTS = 99;

function awayFromPoints(dd) {
  return dd.map_percentile !== null && dd.map_percentile !== undefined && dd.map_percentile >= AWAY_FROM_POINTS;
}

/** "inside the data · 38th percentile", "between clusters", "far from any item"; "" for none.
 * A click away from the map's points adds so: the map shows no item there. */
export function distanceText(dd) {
  if (!dd) return "";
  const away = awayFromPoints(dd) ? " · away from the map's points" : "";
  if (dd.placement !== "inside the data") return `${dd.placement}${away}`;
  return `inside the data · ${ordinal(Math.max(1, Math.round(dd.percentile)))} percentile${away}`;
}

/** What the label means, for a tooltip. */
export function distanceTitle(dd) {
  if (!dd) return "";
  const pct = fmt(dd.percentile, 0);
  const away = awayFromPoints(dd)
    ? ` On the map, this point is ${fmt(dd.map_distance, 3)} from the nearest item, farther than ` +
      `${fmt(dd.map_percentile, 0)}% of the items are from theirs: the map has no data here, and ` +
      "its latent blends the nearest items' (the map's own guess, not the model's)."
    : "";
  return (
    `${fmt(dd.distance, 3)} from the nearest item's latent: ${pct}% of the items are at most ` +
    "this close to their own nearest item. Up to 95%: inside the data; farther than any item " +
    "is from its nearest: far from any item (the image is an extrapolation); else between clusters." +
    away
  );
}

/** Show `dd` in `node` (a text element), or hide it when there is none. */
export function showDistance(node, dd) {
  node.textContent = distanceText(dd);
  node.title = distanceTitle(dd);
  node.dataset.placement = dd ? dd.placement : "";
  node.classList.remove(...Object.values(CLASSES));
  if (dd) node.classList.add(CLASSES[dd.placement]);
  node.hidden = !dd;
}

/** A new line showing `dd` (null when there is none). */
export function distanceLine(dd) {
  if (!dd) return null;
  const node = el("p", { class: "data-distance" });
  showDistance(node, dd);
  return node;
}

/** Mark a small decoded image (a path step, a traversal cell) by its placement: an outline
 * outside the data, and the label in its tooltip. */
export function markImage(node, dd) {
  if (!dd) return node;
  node.classList.add(CLASSES[dd.placement]);
  node.dataset.placement = dd.placement;
  node.title = `${node.title ? `${node.title} · ` : ""}${distanceText(dd)}`;
  return node;
}

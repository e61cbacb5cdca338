// The neighbour rings on the explorer's map: one panel owns them at a time (the Neighbours tab,
// an upload, an arithmetic result), and they leave with their cause.

import { map } from "./explorer-map.js";

let owner = null;

/** Ring items `ids` on behalf of `by` (a panel's name). */
export function ring(by, ids) {
  owner = by;
  map.setOverlayIds("neighbours", ids);
}

/** Take `by`'s rings off the map (another owner's stay). */
export function unring(by) {
  if (owner !== by) return;
  owner = null;
  map.setOverlayIds("neighbours", []);
}

/** Who owns the rings now (for tests: data-rings on the map). */
export function ringOwner() {
  return owner;
}

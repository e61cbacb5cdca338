// The hover card of the explorer's map: an item's thumbnail, id, name and every field.

import { api } from "./api.js";
import { can } from "./capabilities.js";
import { fieldValue, itemLabel, itemName } from "./places.js";
import { loaded, state } from "./state.js";
import { $, el, fmt } from "./ui.js";

const tooltip = $("#tooltip");

function hide() {
  tooltip.hidden = true;
}

/** Show item `id`'s card beside the pointer of `event`, inside the map's box. */
function show(id, event) {
  // Names are not in the binary points: the first hover of an item fetches its name.
  const name = el("dd", {});
  name.textContent = itemName(id, (text) => {
    name.textContent = text;
  });
  const rows = [];
  for (const field of Object.values(loaded.fields)) {
    const value = fieldValue(field, id);
    rows.push([field.label, field.type === "number" ? fmt(value, 4) : value]);
  }
  // replaceChildren would write a null child as the text "null": spread an empty list instead.
  const picture = can.images // an entry without images: the name below is all there is
    ? [el("img", { class: "pixel", src: api.thumbnailUrl(state.model, id), alt: itemLabel(id) })]
    : [];
  tooltip.replaceChildren(
    ...picture,
    el(
      "dl",
      {},
      el("dt", { text: "id" }),
      el("dd", { text: String(id) }),
      el("dt", { text: "name" }),
      name,
      ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
    ),
  );
  place(event);
}

/** Show a card of `nodes` (a picture and a <dl>) beside the pointer of `event`. */
export function showCard(nodes, event) {
  tooltip.replaceChildren(...nodes);
  place(event);
}

function place(event) {
  tooltip.hidden = false;
  const box = tooltip.parentElement.getBoundingClientRect();
  const x = event.clientX - box.left;
  const y = event.clientY - box.top;
  const width = tooltip.offsetWidth;
  tooltip.style.left = `${x + 14 + width > box.width ? x - 14 - width : x + 14}px`;
  tooltip.style.top = `${Math.max(0, Math.min(y + 14, box.height - tooltip.offsetHeight))}px`;
}

/** Show the card while the pointer is over one of `map`'s points. */
export function setup(map) {
  map.on("hover", show).on("unhover", hide);
}

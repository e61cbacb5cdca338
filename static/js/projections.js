// The projection choices of a page's header: radio buttons the server rendered from its
// projection registry (templates/_projections.html). A page shows the ones its model has.

import { $$ } from "./ui.js";

const radios = () => $$('input[name="projection"]');

/** How the page names a projection: its radio's label ("UMAP", "t-SNE"). */
export function projectionLabel(name) {
  const radio = radios().find((r) => r.value === name);
  const text = radio && radio.closest("label").textContent.trim();
  return text || name;
}

/** The projection to show of `available`: `wanted` if there, else the model's default. */
export function chooseProjection(available, wanted, defaults) {
  if (available.includes(wanted)) return wanted;
  return defaults.find((name) => available.includes(name)) || available[0];
}

/** Show only the `available` projections' choices, `current` checked. */
export function showProjections(available, current) {
  for (const radio of radios()) {
    const has = available.includes(radio.value);
    radio.closest("label").hidden = !has;
    radio.disabled = !has;
    radio.checked = radio.value === current;
  }
}

/** Call fn(name) when the user picks another projection. */
export function onProjectionChange(fn) {
  for (const radio of radios()) radio.addEventListener("change", () => fn(radio.value));
}

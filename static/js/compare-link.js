// The header's "Compare" link: shown when other loaded models index the same items as the
// current one (GET comparable), and opens the first of them side by side (/compare?a=&b=).

import { api } from "./api.js";
import { loaded, on } from "./state.js";
import { $ } from "./ui.js";

const link = $("#compare-link");

async function update(model) {
  link.hidden = true;
  if (loaded.models.length < 2) return; // nothing to compare with: no request
  let answer;
  try {
    answer = await api.comparable(model.name);
  } catch {
    return; // the link is a convenience; the page works without it
  }
  if (loaded.model !== model || !answer.comparable.length) return; // moved on, or none
  const [other] = answer.comparable;
  link.href = `/compare?a=${encodeURIComponent(model.name)}&b=${encodeURIComponent(other)}`;
  link.textContent = `Compare with ${other}`;
  const more = answer.comparable.length - 1;
  link.title =
    `${model.name} and ${other} index the same ${model.n_items} items: see their maps side by side` +
    (more ? ` (${more} more model${more === 1 ? "" : "s"} on these items: choose on that page)` : "");
  link.hidden = false;
}

/** Follow the current model ("model" events). */
export function setup() {
  on("model", (model) => {
    update(model);
  });
}

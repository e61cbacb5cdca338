// The tool tabs beside the map: one button per labelled panel (panels.js), the arrow keys
// moving between them, and the choice kept in the state (?tab=).

import { PANELS } from "./panels.js";
import { emit, save, state } from "./state.js";
import { $, el } from "./ui.js";

const TABS = PANELS.filter((panel) => panel.label).map((panel) => panel.name);

// Tabs the current model has a use for (capabilities.js hides the others).
const shownTabs = () => TABS.filter((tab) => !$(`#tab-${tab}`).hidden);

/** Open tab `name` (or the first shown one when that tab is hidden or unknown). */
export function selectTab(name, focus = false) {
  state.tab = shownTabs().includes(name) ? name : shownTabs()[0];
  for (const tab of TABS) {
    const button = $(`#tab-${tab}`);
    const selected = tab === state.tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab}`).hidden = !selected;
    if (selected && focus) button.focus();
  }
  emit("tab", state.tab);
  save();
}

/** The open tab may have been hidden for the current model: open another. */
export function keepTabShown() {
  if ($(`#tab-${state.tab}`).hidden) selectTab(state.tab);
}

function onKey(event) {
  const tabs = shownTabs();
  const i = tabs.indexOf(event.currentTarget.dataset.tab);
  const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: tabs.length - 1 - i };
  if (!(event.key in moves)) return;
  event.preventDefault();
  selectTab(tabs[(i + moves[event.key] + tabs.length) % tabs.length], true);
}

/** Make the tab buttons in the page's tab list. */
export function setup() {
  const buttons = PANELS.filter((panel) => panel.label).map((panel) =>
    el("button", {
      type: "button",
      role: "tab",
      id: `tab-${panel.name}`,
      "aria-controls": `panel-${panel.name}`,
      dataset: { tab: panel.name },
      text: panel.label,
      onclick: () => selectTab(panel.name),
      onkeydown: onKey,
    }),
  );
  $('[role="tablist"]').replaceChildren(...buttons);
}

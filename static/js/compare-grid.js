// The compare page's maps: one card per model in a grid, the reference first, each a map
// component (map.js) of its own. The grid only reports what the user does (select, hover,
// remove) and draws what the page tells it; linking the maps by item id is the page's.

import { LatentMap } from "./map.js";
import { el } from "./ui.js";

// The map component of the explorer page, without its probe: a click selects the item.
const MAP_OPTIONS = {
  tool: "select",
  faded: 0.15,
  hoverLabel: (id) => `item #${id}`,
  clickSelects: true,
  doubleClickResets: true,
  // The item hovered in another map, ringed where it sits in this one.
  overlays: { ring: { symbol: "circle-open", size: 16, color: "#d62728", line: 2.5 } },
};

export class MapGrid {
  /** node: the grid element; on: {select(model, ids, how), hover(model, id), unhover(model),
   * remove(model)}. */
  constructor(node, on) {
    this.node = node;
    this.on = on;
    this.maps = {}; // model name -> LatentMap, in the grid's order
  }

  /** Show one card per model of `models` (the first is the reference); `removable`: whether
   * a model may be taken off (a comparison keeps at least two). */
  setModels(models, removable) {
    for (const map of Object.values(this.maps)) map.dispose();
    this.maps = {};
    const cards = models.map((name, i) => {
      const plot = el("div", { class: "compare-plot", id: `map-${i}`, dataset: { model: name, ready: "false" } });
      const title = el("h2", { class: "compare-title", id: `map-title-${i}` }, name);
      if (i === 0) title.append(" ", el("span", { class: "badge", text: "reference" }));
      const remove = el("button", {
        type: "button",
        class: "icon-button remove-model",
        "aria-label": `Remove ${name} from the comparison`,
        title: `Remove ${name}`,
        text: "×",
        disabled: !removable,
        onclick: () => this.on.remove(name),
      });
      const map = new LatentMap(plot, MAP_OPTIONS)
        .on("select", (ids, how) => this.on.select(name, ids, how))
        .on("hover", (id) => this.on.hover(name, id))
        .on("unhover", () => this.on.unhover(name));
      this.maps[name] = map;
      return el(
        "section",
        { class: "card compare-map", dataset: { model: name }, "aria-labelledby": `map-title-${i}` },
        el("div", { class: "compare-map-head" }, title, remove),
        plot,
      );
    });
    this.node.dataset.count = String(models.length);
    this.node.replaceChildren(...cards);
  }

  /** Light up `ids` (null: none) in every map but `except` (it shows the user's own box). */
  highlight(ids, except = null) {
    return Promise.all(
      Object.entries(this.maps)
        .filter(([name]) => name !== except)
        .map(([, map]) => map.highlight(ids)),
    );
  }

  /** Ring item `id` (null: none) in every map but `except`. */
  ring(id, except = null) {
    for (const [name, map] of Object.entries(this.maps)) {
      if (name !== except && map.points) map.setOverlayIds("ring", id === null ? [] : [id]);
    }
  }

  /** Give every map the same axis ranges, the union of theirs: aligned maps then read alike. */
  async shareRanges() {
    const maps = Object.values(this.maps);
    const ranges = maps.map((map) => map.viewRange()).filter(Boolean);
    if (!ranges.length) return;
    const span = (axis) => [
      Math.min(...ranges.map((r) => Math.min(...r[axis]))),
      Math.max(...ranges.map((r) => Math.max(...r[axis]))),
    ];
    const view = { x: span("x"), y: span("y") };
    await Promise.all(maps.map((map) => map.setView(view)));
  }

  setTool(tool) {
    for (const map of Object.values(this.maps)) map.setTool(tool);
  }
}

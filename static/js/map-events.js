// What the user does on a map (map.js) through Plotly's events, reported as the map's own
// events: hover (an overlay marked `hover` wins over the points), box and lasso selections
// (Shift adds), a click on a point, and zooms or pans.

import { sortedOrNull } from "./drawn.js";

/** Bind Plotly's hover, selection, click and relayout events of `map`'s figure, once. */
export function bindPointerEvents(map) {
  const gd = map.gd;
  gd.on("plotly_hover", (event) => {
    if (map.press) return;
    // An overlay marked `hover` above the points wins: it is what the pointer is on.
    const names = Object.keys(map.overlays);
    const over = event.points.find((p) => p.curveNumber > 0 && map.options.overlays[names[p.curveNumber - 1]].hover);
    if (over) {
      map.emit("overlayhover", names[over.curveNumber - 1], over.pointIndex, event.event);
      return;
    }
    const point = event.points.find((p) => p.curveNumber === 0);
    if (point && point.pointIndex < map.drawn.length) {
      map.emit("hover", map.drawn[point.pointIndex], event.event);
    }
  });
  gd.on("plotly_unhover", () => map.emit("unhover"));
  // A box or lasso replaces the selection with its points; with Shift held it adds them. Its
  // shape is taken off once done, so the next drag draws a new one (Plotly would otherwise
  // move the old shape when a drag starts inside it).
  gd.addEventListener("pointerdown", (event) => (map.adding = event.shiftKey), true);
  gd.on("plotly_selected", (event) => {
    if (map.muted) return;
    let ids = event ? map.selectedIds(event) : [];
    if (map.adding && map.highlighted) ids = [...new Set([...map.highlighted, ...ids])];
    map.highlighted = sortedOrNull(ids);
    map.lastRange = (event && event.range) || null;
    map.emit("select", ids, "select");
    if (event) Promise.resolve().then(() => map.highlight(map.highlighted));
  });
  gd.on("plotly_deselect", () => {
    if (map.muted) return;
    map.highlighted = null;
    map.emit("select", [], "select");
  });
  gd.on("plotly_click", (event) => {
    const point = event && event.points && event.points.find((p) => p.curveNumber === 0);
    if (!map.options.clickSelects || map.tool === "probe" || map.muted) return;
    if (!point || point.pointIndex >= map.drawn.length) return;
    map.emit("select", [map.drawn[point.pointIndex]], "click");
  });
  gd.on("plotly_relayout", (change) => {
    map.emit("view");
    if (change && Object.keys(change).some((k) => /^[xy]axis\.(range|autorange)/.test(k))) {
      map.zoomed(change["xaxis.autorange"] || change["yaxis.autorange"] ? null : map.viewRange());
    }
  });
}

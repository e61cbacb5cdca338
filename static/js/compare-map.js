// One map of the compare page: a Plotly scatter of a model's points whose highlighted items
// are set from outside (the other map's selection), and whose own box, lasso and click
// selections are reported as item ids. Past DRAW_CAP points it draws the first items of the
// server's draw order (a fair sample); selections are still tested against every point.

/* global Plotly */
import { indexOf, insidePolygon, pickDrawn } from "./drawn.js";
import { categoryColour } from "./legend.js";

export const DRAW_CAP = 100_000; // as the main map (map.js): Plotly's limit on 2 cores
const traceType = (() => {
  try {
    return document.createElement("canvas").getContext("webgl") ? "scattergl" : "scatter";
  } catch {
    return "scatter";
  }
})();

export class LinkedMap {
  /** node: the map's element; onSelect(ids, how): the user selected items here. */
  constructor(node, onSelect) {
    this.gd = node;
    this.onSelect = onSelect;
    this.points = null;
    this.drawn = new Int32Array(0); // trace index -> item id, ascending
    this.highlighted = null; // sorted item ids, or null: nothing highlighted
    this.muted = 0; // > 0 while the page itself changes the plot: its events are not the user's
    this.lastRange = null;
    this.bound = false;
  }

  /** Draw `points` (the binary form, decoded) coloured by `field` (places.js buildFields). */
  async draw(points, field, tool) {
    this.points = points;
    this.drawn = pickDrawn(points, { cap: DRAW_CAP }).ids;
    const ids = this.drawn;
    const size = ids.length < 3000 ? 6 : ids.length < 20000 ? 4 : 3;
    const marker = { size, opacity: 0.85 };
    if (field && field.type === "number") {
      const [lo, hi] = field.range || extent(field.values);
      Object.assign(marker, {
        color: Array.from(ids, (id) => field.values[id]),
        cmin: lo,
        cmax: hi,
        colorscale: field.colorscale || "Viridis",
        showscale: true,
        colorbar: { thickness: 10, len: 0.7, outlinewidth: 0 },
      });
    } else if (field) {
      const palette = field.categories.map((_, code) => categoryColour(code));
      marker.color = Array.from(ids, (id) => palette[field.codes[id]]);
    } else {
      marker.color = "#4e79a7";
    }
    const trace = {
      type: traceType,
      mode: "markers",
      x: Array.from(ids, (id) => points.x[id]),
      y: Array.from(ids, (id) => points.y[id]),
      marker,
      hoverinfo: "text",
      text: Array.from(ids, (id) => `item #${id}`),
      selectedpoints: this.indices(this.highlighted),
      selected: { marker: { opacity: 1 } },
      unselected: { marker: { opacity: 0.15 } },
    };
    const layout = {
      margin: { l: 36, r: field && field.type === "number" ? 60 : 12, t: 8, b: 26 },
      dragmode: tool,
      hovermode: "closest",
      showlegend: false,
      uirevision: `${points.model}/${points.projection}`,
      xaxis: { zeroline: false, gridcolor: "#eef0f3" },
      yaxis: { zeroline: false, gridcolor: "#eef0f3" },
      plot_bgcolor: "#ffffff",
      paper_bgcolor: "#ffffff",
    };
    await this.quietly(() =>
      Plotly.react(this.gd, [trace], layout, { displayModeBar: false, scrollZoom: true, responsive: true }),
    );
    this.bind();
    this.gd.dataset.ready = "true";
    this.gd.dataset.drawn = String(ids.length);
  }

  /** Highlight these item ids (null: none), drawing the others faint. */
  async highlight(ids) {
    this.highlighted = ids ? [...ids].sort((a, b) => a - b) : null;
    if (!this.points) return;
    await this.quietly(async () => {
      // A selection box left from before would claim points it no longer holds.
      if ((this.gd.layout.selections || []).length) await Plotly.relayout(this.gd, { selections: [] });
      await Plotly.restyle(this.gd, { selectedpoints: [this.indices(this.highlighted)] }, [0]);
    });
  }

  setTool(tool) {
    if (this.points) this.quietly(() => Plotly.relayout(this.gd, { dragmode: tool }));
  }

  /** Trace indices of the drawn items among `ids`, or null for no highlight. */
  indices(ids) {
    if (!ids) return null;
    const out = [];
    for (const id of ids) {
      const index = indexOf(this.drawn, id);
      if (index >= 0) out.push(index);
    }
    return out;
  }

  async quietly(change) {
    this.muted += 1;
    try {
      return await change();
    } finally {
      this.muted -= 1;
    }
  }

  /** The items inside a box or lasso, drawn or not. */
  selectedIds(event) {
    const { x, y, count } = this.points;
    const ids = [];
    if (event.lassoPoints) {
      const xs = event.lassoPoints.x;
      const ys = event.lassoPoints.y;
      for (let id = 0; id < count; id += 1) if (insidePolygon(xs, ys, x[id], y[id])) ids.push(id);
    } else if (event.range) {
      const [x0, x1] = [Math.min(...event.range.x), Math.max(...event.range.x)];
      const [y0, y1] = [Math.min(...event.range.y), Math.max(...event.range.y)];
      for (let id = 0; id < count; id += 1) {
        if (x[id] >= x0 && x[id] <= x1 && y[id] >= y0 && y[id] <= y1) ids.push(id);
      }
    }
    return ids;
  }

  bind() {
    if (this.bound) return;
    this.bound = true;
    this.gd.on("plotly_selected", (event) => {
      if (this.muted || !event) return;
      const ids = this.selectedIds(event);
      this.highlighted = ids;
      this.lastRange = event.range || null; // the box in data units (for tests)
      this.onSelect(ids, "select");
    });
    this.gd.on("plotly_deselect", () => {
      if (this.muted) return;
      this.highlighted = null;
      this.onSelect(null, "select");
    });
    this.gd.on("plotly_click", (event) => {
      const point = event && event.points && event.points[0];
      if (this.muted || !point || point.pointIndex >= this.drawn.length) return;
      this.onSelect([this.drawn[point.pointIndex]], "click");
    });
  }
}

function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

// The Plotly figure of the map component (map.js): the points trace, the overlay traces and
// the layout, built from what the map holds. Pure functions: nothing here touches the plot.

import { categoryColour } from "./colours.js";

// WebGL draws 100,000 points in about a second; without it (some headless or old browsers)
// the SVG scatter still works, slowly.
const TRACE_TYPE = (() => {
  try {
    return document.createElement("canvas").getContext("webgl") ? "scattergl" : "scatter";
  } catch {
    return "scatter";
  }
})();

/** The full range of a numeric field, so a sample's colours mean what the whole map's do. */
function valueRange(field) {
  if (!field.range) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of field.values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    field.range = lo <= hi ? [lo, hi] : [0, 1];
  }
  return field.range;
}

/** Markers for items `ids` coloured by `field`, sized for a map of `scale` points. */
function markerFor(ids, field, scale) {
  const size = scale < 3000 ? 6 : scale < 20000 ? 4 : 3;
  const marker = { size, opacity: 0.85 };
  if (field && field.type === "number") {
    const [cmin, cmax] = valueRange(field);
    Object.assign(marker, {
      color: Array.from(ids, (id) => field.values[id]),
      cmin,
      cmax,
      colorscale: field.colorscale || "Viridis",
      showscale: true,
      colorbar: { thickness: 10, len: 0.7, outlinewidth: 0, title: { text: field.label, side: "right" } },
    });
  } else if (field) {
    const palette = field.categories.map((_, code) => categoryColour(code));
    marker.color = Array.from(ids, (id) => palette[field.codes[id]]);
  } else {
    marker.color = "#4e79a7";
  }
  return marker;
}

/**
 * The points trace: items `ids` of `points` coloured by `colour`; `selected` the trace indices
 * lit up (null: none), the others at opacity `faded`; `hoverLabel` id -> text for Plotly's
 * own hover label, or null for none.
 */
export function pointsTrace({ points, ids, colour, scale, selected, faded, hoverLabel }) {
  // Plain arrays and colour strings: Plotly lays out typed arrays and colour scales more slowly
  // (70,000 points: 0.8 s this way, 0.95 s with Float32Arrays, 1.2 s through a colour scale).
  return {
    type: TRACE_TYPE,
    mode: "markers",
    name: "points",
    x: Array.from(ids, (id) => points.x[id]),
    y: Array.from(ids, (id) => points.y[id]),
    marker: markerFor(ids, colour, scale),
    hoverinfo: hoverLabel ? "text" : "none",
    text: hoverLabel ? Array.from(ids, hoverLabel) : undefined,
    selectedpoints: selected,
    selected: { marker: { opacity: 1 } },
    unselected: { marker: { opacity: faded } },
  };
}

/** An overlay trace named `name`, drawn with `style` at {x, y}. */
export function overlayTrace(name, style, { x, y }) {
  return {
    type: TRACE_TYPE,
    name,
    mode: style.mode || "markers",
    x,
    y,
    // "none": hover events without Plotly's label (the page shows its own card).
    hoverinfo: style.hover ? "none" : "skip",
    marker: {
      symbol: style.symbol,
      size: style.size,
      color: style.color,
      line: { width: style.line, color: style.lineColor || style.color },
    },
    line: { color: "#1c232b", width: 2 },
  };
}

function axis() {
  // A new object per axis: Plotly writes each axis' range into its own.
  return {
    zeroline: false,
    showline: false,
    gridcolor: "#eef0f3",
    tickfont: { size: 10, color: "#8a95a1" },
    automargin: false,
  };
}

/**
 * The layout: room on the right for a colour bar when `colour` is numeric; `key` keeps the
 * user's zoom while it is the same; a new `selectionRevision` drops the user's box or lasso;
 * `images` are drawn above the points, and `reach` px (0: 12) is how far a hover reaches.
 */
export function mapLayout({ colour, dragmode, key, selectionRevision, images = [], reach = 0 }) {
  const numeric = colour && colour.type === "number";
  return {
    margin: { l: 36, r: numeric ? 70 : 12, t: 8, b: 26 },
    dragmode,
    hovermode: "closest",
    hoverdistance: Math.max(12, Math.ceil(reach)),
    images,
    showlegend: false,
    uirevision: key,
    selectionrevision: selectionRevision,
    selections: [],
    xaxis: axis(),
    yaxis: axis(),
    plot_bgcolor: "#ffffff",
    paper_bgcolor: "#ffffff",
    font: { family: "system-ui, sans-serif" },
  };
}

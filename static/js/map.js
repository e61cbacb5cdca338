// The Plotly map: one scattergl trace of the points (colour arrays; hidden classes left out,
// the chips that hide them are in legend.js), hover cards, overlay traces drawn by the panels,
// and pixel <-> data conversion for probing anywhere, on a point or between points.
//
// Past DRAW_CAP points the trace holds a sample (drawn.js): the first items of the server's
// draw order, and after a zoom or pan the first ones inside the view, so zooming in shows
// every point once the view holds fewer than the cap. A trace index is therefore not an item
// id: `drawn.ids[index]` is. Selections, exports and the item under a click cover every point.

/* global Plotly */
import { api } from "./api.js";
import { can } from "./capabilities.js";
import { indexOf, insidePolygon, pickDrawn } from "./drawn.js";
import { categoryColour, legendField, renderLegend } from "./legend.js";
import { fieldValue, itemLabel, itemName } from "./places.js";
import { emit, loaded, state } from "./state.js";
import { $, el, fmt } from "./ui.js";

export { legendField };

// Most points in the trace at once. 100,000 scattergl markers take Plotly about a second to
// lay out and paint on 2 cores without a GPU; more only pile up on each other at the
// overview's scale.
export const DRAW_CAP = 100_000;
const REDRAW_MS = 120; // after the last zoom or pan step (a scroll zoom fires many)

const gd = $("#map");
const wrap = gd.parentElement;

// Drawn above the points, in this order; each is one trace named after its key.
const OVERLAYS = {
  groupA: { symbol: "square-open", size: 9, color: "rgba(11,122,87,0.75)", line: 1.5 },
  groupB: { symbol: "diamond-open", size: 10, color: "rgba(176,18,91,0.75)", line: 1.5 },
  neighbours: { symbol: "circle-open", size: 15, color: "#111111", line: 2.5 },
  path: { symbol: "circle", size: 8, color: "#ffffff", line: 2, lineColor: "#1c232b", mode: "lines+markers" },
  uploads: { symbol: "star", size: 17, color: "#ffc400", line: 1.5, lineColor: "#1c232b" },
  result: { symbol: "x", size: 15, color: "#d62728", line: 1.5, lineColor: "#ffffff" },
  frame: { symbol: "circle", size: 14, color: "rgba(47,111,189,0.35)", line: 3, lineColor: "#2f6fbd" },
};
const overlays = Object.fromEntries(Object.keys(OVERLAYS).map((k) => [k, { xy: [] }]));

let tool = "probe";
let drawCap = DRAW_CAP;
// The trace's items (ascending ids) and whether they are every point that is shown and in view.
let drawn = { ids: new Int32Array(0), complete: true };
let zoomRange = null; // the view the sample is drawn for, {x, y}; null: the whole map
let zoomKey = null; // the model/projection that view belongs to
let redrawTimer = null;
// Plotly keeps the user's own selection through redraws until this changes.
let selectionRevision = 0;
const traceType = hasWebGL() ? "scattergl" : "scatter";
const handlers = { probe: () => {}, selected: () => {} };

function hasWebGL() {
  try {
    return Boolean(document.createElement("canvas").getContext("webgl"));
  } catch {
    return false;
  }
}

export function onProbe(fn) {
  handlers.probe = fn;
}
export function onSelected(fn) {
  handlers.selected = fn;
}

/** The hidden classes as {codes, off}: off[code] is 1 for a hidden category; or null. */
function hiddenCodes() {
  const field = state.hidden.size > 0 ? loaded.fields[legendField()] : null;
  if (!field) return null;
  const off = Uint8Array.from(field.categories, (category) => (state.hidden.has(category) ? 1 : 0));
  return { codes: field.codes, off };
}

/** Every item that is not in a hidden class (drawn or not), ascending. */
export function visibleIds() {
  const points = loaded.points;
  if (!points) return [];
  const hidden = hiddenCodes();
  const ids = [];
  for (let id = 0; id < points.count; id += 1) {
    if (!hidden || !hidden.off[hidden.codes[id]]) ids.push(id);
  }
  return ids;
}

/** How many items are not in a hidden class. */
export function visibleCount() {
  const points = loaded.points;
  const hidden = hiddenCodes();
  if (!points || !hidden) return points ? points.count : 0;
  let n = 0;
  for (let id = 0; id < points.count; id += 1) n += hidden.off[hidden.codes[id]] ? 0 : 1;
  return n;
}

/** The items in the points trace, ascending (trace index -> item id). */
export function drawnIds() {
  return drawn.ids;
}

/** Change the cap (the browser tests lower it to check the sampling); redraws. */
export function setDrawCap(cap) {
  drawCap = cap > 0 ? Math.floor(cap) : DRAW_CAP;
  return render();
}

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

function pointsTrace() {
  const points = loaded.points;
  const key = `${state.model}/${state.projection}`;
  if (key !== zoomKey) {
    zoomKey = key;
    zoomRange = null;
  }
  // Everything fits under the cap: draw it all, whatever the view (no redraws on zoom).
  const range = visibleCount() > drawCap ? zoomRange : null;
  drawn = pickDrawn(points, { cap: drawCap, range, hidden: hiddenCodes() });
  const { ids } = drawn;
  // Plain arrays and colour strings: Plotly lays out typed arrays and colour scales more slowly
  // (70,000 points: 0.8 s this way, 0.95 s with Float32Arrays, 1.2 s through a colour scale).
  const x = Array.from(ids, (id) => points.x[id]);
  const y = Array.from(ids, (id) => points.y[id]);
  const colour = loaded.fields[state.colour];
  const scale = Math.min(points.count, drawCap);
  const size = scale < 3000 ? 6 : scale < 20000 ? 4 : 3;
  const marker = { size, opacity: 0.85 };
  if (colour && colour.type === "number") {
    const [cmin, cmax] = valueRange(colour);
    Object.assign(marker, {
      color: Array.from(ids, (id) => colour.values[id]),
      cmin,
      cmax,
      colorscale: colour.colorscale || "Viridis",
      showscale: true,
      colorbar: { thickness: 10, len: 0.7, outlinewidth: 0, title: { text: colour.label, side: "right" } },
    });
  } else if (colour) {
    const palette = colour.categories.map((_, code) => categoryColour(code));
    marker.color = Array.from(ids, (id) => palette[colour.codes[id]]);
  } else {
    marker.color = "#4e79a7";
  }
  let selected = null;
  if (state.selection.length) {
    selected = [];
    for (const id of state.selection) {
      const index = indexOf(ids, id);
      if (index >= 0) selected.push(index);
    }
  }
  return {
    type: traceType,
    mode: "markers",
    name: "points",
    x,
    y,
    marker,
    hoverinfo: "none",
    selectedpoints: selected,
    selected: { marker: { opacity: 1 } },
    unselected: { marker: { opacity: 0.25 } },
  };
}

function overlayTrace(name) {
  const style = OVERLAYS[name];
  const data = overlayXY(name);
  return {
    type: traceType,
    name,
    mode: style.mode || "markers",
    x: data.x,
    y: data.y,
    hoverinfo: "skip",
    marker: {
      symbol: style.symbol,
      size: style.size,
      color: style.color,
      line: { width: style.line, color: style.lineColor || style.color },
    },
    line: { color: "#1c232b", width: 2 },
  };
}

function layout() {
  const axis = {
    zeroline: false,
    showline: false,
    gridcolor: "#eef0f3",
    tickfont: { size: 10, color: "#8a95a1" },
    automargin: false,
  };
  const numeric = loaded.fields[state.colour] && loaded.fields[state.colour].type === "number";
  return {
    margin: { l: 36, r: numeric ? 70 : 12, t: 8, b: 26 },
    dragmode: tool === "probe" ? false : tool,
    hovermode: "closest",
    hoverdistance: 12,
    showlegend: false,
    uirevision: `${state.model}/${state.projection}`,
    selectionrevision: selectionRevision,
    selections: [],
    xaxis: { ...axis }, // separate objects: Plotly writes each axis' range into its own
    yaxis: { ...axis },
    plot_bgcolor: "#ffffff",
    paper_bgcolor: "#ffffff",
    font: { family: "system-ui, sans-serif" },
  };
}

/** Draw (or redraw) everything: the points and every overlay. */
export async function render() {
  if (!loaded.points) return;
  const data = [pointsTrace(), ...Object.keys(OVERLAYS).map(overlayTrace)];
  await Plotly.react(gd, data, layout(), {
    displayModeBar: false,
    scrollZoom: true,
    doubleClick: false,
    responsive: true,
  });
  gd.dataset.ready = "true";
  // For tests and benchmarks: how many points are drawn, and a count of redraws to wait on.
  gd.dataset.drawn = String(drawn.ids.length);
  gd.dataset.complete = String(drawn.complete);
  gd.dataset.renders = String(Number(gd.dataset.renders || 0) + 1);
  gd.dataset.projection = state.projection;
  gd.dataset.colour = state.colour || "";
  renderLegend();
  emit("view");
}

// An overlay holds either dataset item ids (placed from the current points, so they follow a
// change of projection) or positions the server gave for the current projection.
function overlayXY(name) {
  const { ids, xy } = overlays[name];
  const points = ids ? ids.filter((id) => id < loaded.points.count) : null;
  return points
    ? { x: points.map((id) => loaded.points.x[id]), y: points.map((id) => loaded.points.y[id]) }
    : { x: xy.map((p) => p[0]), y: xy.map((p) => p[1]) };
}

function redrawOverlay(name) {
  if (!gd.data || !loaded.points) return;
  const { x, y } = overlayXY(name);
  const index = 1 + Object.keys(OVERLAYS).indexOf(name);
  const trace = gd.data[index];
  // Emptying an empty overlay would still redraw the whole scene (~0.2 s at 70k points).
  if (x.length === 0 && trace && (!trace.x || trace.x.length === 0)) return;
  Plotly.restyle(gd, { x: [x], y: [y] }, [index]);
}

/** Replace an overlay's points: `xy` is a list of [x, y] in the current projection. */
export function setOverlay(name, xy) {
  overlays[name] = { xy };
  redrawOverlay(name);
}

/** Replace an overlay's points by dataset items. */
export function setOverlayIds(name, ids) {
  overlays[name] = { ids: [...ids] };
  redrawOverlay(name);
}

/** The page changed the selection (not the user's lasso): let the next render show it. */
export function replaceSelection() {
  selectionRevision += 1;
}

/** Select these items for the user (a panel's list, e.g. the outliers), as a lasso would. */
export function selectIds(ids) {
  replaceSelection();
  handlers.selected([...ids]);
  return render();
}

export function clearOverlays() {
  for (const name of Object.keys(OVERLAYS)) overlays[name] = { xy: [] };
}

export function setTool(next) {
  tool = next;
  gd.dataset.tool = next;
  if (loaded.points) Plotly.relayout(gd, { dragmode: next === "probe" ? false : next });
}

export function resetView() {
  if (loaded.points) Plotly.relayout(gd, { "xaxis.autorange": true, "yaxis.autorange": true });
}

export function setLoading(on) {
  $("#map-loading").hidden = !on;
}

// ---- coordinates ---------------------------------------------------------------------------
/** The data ranges in view: {x: [x0, x1], y: [y0, y1]}, or null before the first render. */
export function viewRange() {
  const full = gd._fullLayout;
  return full && full.xaxis ? { x: full.xaxis.range.slice(), y: full.yaxis.range.slice() } : null;
}

/** Client pixel -> data [x, y], or null outside the plot area. */
export function toData(clientX, clientY) {
  const full = gd._fullLayout;
  if (!full || !full._size) return null;
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = full._size;
  const px = clientX - rect.left - l;
  const py = clientY - rect.top - t;
  if (px < 0 || py < 0 || px > w || py > h) return null;
  const [x0, x1] = full.xaxis.range;
  const [y0, y1] = full.yaxis.range;
  return [x0 + (px / w) * (x1 - x0), y1 - (py / h) * (y1 - y0)];
}

/** Data [x, y] -> pixel offset inside the map element (null when out of view). */
export function toPixel(x, y) {
  const full = gd._fullLayout;
  if (!full || !full._size) return null;
  const { l, t, w, h } = full._size;
  const [x0, x1] = full.xaxis.range;
  const [y0, y1] = full.yaxis.range;
  const px = l + ((x - x0) / (x1 - x0)) * w;
  const py = t + ((y1 - y) / (y1 - y0)) * h;
  return px < l || px > l + w || py < t || py > t + h ? null : [px, py];
}

/** The drawn item under the pointer (within its marker), or null. */
function itemAt(clientX, clientY) {
  const points = loaded.points;
  const full = gd._fullLayout;
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = full._size;
  const [x0, x1] = full.xaxis.range;
  const [y0, y1] = full.yaxis.range;
  const sx = w / (x1 - x0);
  const sy = h / (y1 - y0);
  const px = clientX - rect.left - l;
  const py = clientY - rect.top - t;
  const reach = 5;
  let best = null;
  let bestD = reach * reach;
  for (const id of drawn.ids) {
    const dx = (points.x[id] - x0) * sx - px;
    const dy = (y1 - points.y[id]) * sy - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = id;
    }
  }
  return best;
}

// ---- probing: press, drag, release -------------------------------------------------------
let press = null;

gd.addEventListener(
  "pointerdown",
  (event) => {
    if (tool !== "probe" || event.button !== 0 || !loaded.points) return;
    const xy = toData(event.clientX, event.clientY);
    if (!xy) return;
    event.preventDefault();
    press = { x0: event.clientX, y0: event.clientY, moved: false, item: itemAt(event.clientX, event.clientY) };
    hideTooltip();
    handlers.probe({ phase: "start", xy, item: press.item });
  },
  true,
);

window.addEventListener("pointermove", (event) => {
  if (!press) return;
  if (!press.moved && Math.hypot(event.clientX - press.x0, event.clientY - press.y0) < 3) return;
  press.moved = true;
  const xy = clampedData(event.clientX, event.clientY);
  if (xy) handlers.probe({ phase: "move", xy, item: null });
});

window.addEventListener("pointerup", (event) => {
  if (!press) return;
  const { moved, item } = press;
  press = null;
  const xy = clampedData(event.clientX, event.clientY);
  if (xy) handlers.probe({ phase: "end", xy, moved, item: moved ? null : item });
});

function clampedData(clientX, clientY) {
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = gd._fullLayout._size;
  const cx = Math.min(Math.max(clientX, rect.left + l), rect.left + l + w);
  const cy = Math.min(Math.max(clientY, rect.top + t), rect.top + t + h);
  return toData(cx, cy);
}

// ---- hover cards ------------------------------------------------------------------------------
const tooltip = $("#tooltip");
function hideTooltip() {
  tooltip.hidden = true;
}

function showTooltip(id, event) {
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
  tooltip.hidden = false;
  const box = wrap.getBoundingClientRect();
  const x = event.clientX - box.left;
  const y = event.clientY - box.top;
  const width = tooltip.offsetWidth;
  tooltip.style.left = `${x + 14 + width > box.width ? x - 14 - width : x + 14}px`;
  tooltip.style.top = `${Math.max(0, Math.min(y + 14, box.height - tooltip.offsetHeight))}px`;
}

// ---- the sample follows the view ----------------------------------------------------------
/** The user zoomed or panned to `range` (null: back to the whole map). */
function zoomed(range) {
  zoomRange = range;
  // Below the cap every point is drawn already; above it the sample is redrawn for the new
  // view once the zooming stops.
  if (visibleCount() <= drawCap) return;
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(render, REDRAW_MS);
}

/** The items a box or lasso selected: Plotly's own answer when every point in view is drawn,
 * else the shape tested against every shown point (undrawn ones too). */
function selectedIds(event) {
  if (drawn.complete) {
    return event.points.filter((p) => p.curveNumber === 0).map((p) => drawn.ids[p.pointIndex]);
  }
  const { x, y, count } = loaded.points;
  const hidden = hiddenCodes();
  const shown = (id) => !hidden || !hidden.off[hidden.codes[id]];
  const ids = [];
  if (event.lassoPoints) {
    const xs = event.lassoPoints.x;
    const ys = event.lassoPoints.y;
    for (let id = 0; id < count; id += 1) {
      if (shown(id) && insidePolygon(xs, ys, x[id], y[id])) ids.push(id);
    }
  } else if (event.range) {
    const [x0, x1] = [Math.min(...event.range.x), Math.max(...event.range.x)];
    const [y0, y1] = [Math.min(...event.range.y), Math.max(...event.range.y)];
    for (let id = 0; id < count; id += 1) {
      if (shown(id) && x[id] >= x0 && x[id] <= x1 && y[id] >= y0 && y[id] <= y1) ids.push(id);
    }
  }
  return ids;
}

// ---- Plotly events (bound once the plot exists) -------------------------------------------
let bound = false;
export function bindPlotEvents() {
  if (bound) return;
  bound = true;
  gd.on("plotly_hover", (event) => {
    const point = event.points.find((p) => p.curveNumber === 0);
    if (point && !press && point.pointIndex < drawn.ids.length) {
      showTooltip(drawn.ids[point.pointIndex], event.event);
    }
  });
  gd.on("plotly_unhover", hideTooltip);
  gd.on("plotly_selected", (event) => handlers.selected(event ? selectedIds(event) : []));
  gd.on("plotly_deselect", () => handlers.selected([]));
  gd.on("plotly_relayout", (change) => {
    emit("view");
    if (change && Object.keys(change).some((k) => /^[xy]axis\.(range|autorange)/.test(k))) {
      zoomed(change["xaxis.autorange"] || change["yaxis.autorange"] ? null : viewRange());
    }
  });
  // The observer also fires once when it starts, at the size the map was just drawn at: a
  // resize then would redraw every point for nothing (1.4-1.8 s at 70,000 points).
  let size = null;
  new ResizeObserver((entries) => {
    const { width, height } = entries[0].contentRect;
    const changed = size !== null && (size.width !== width || size.height !== height);
    size = { width, height };
    if (changed && loaded.points) Plotly.Plots.resize(gd).then(() => emit("view"));
  }).observe(wrap);
}

// The map component both pages use: one Plotly scatter of a model's points (hidden classes
// left out, coloured by one field), the items the page highlights, overlay traces drawn above
// the points, and pixel <-> data conversion for probing anywhere, on a point or between points.
// It reports what the user does through events (see LatentMap.on) and reads nothing global:
// the page tells it what to draw.
//
// Past DRAW_CAP points the trace holds a sample (drawn.js): the first items of the server's
// draw order, and after a zoom or pan the first ones inside the view, so zooming in shows
// every point once the view holds fewer than the cap. A trace index is therefore not an item
// id: `drawnIds()[index]` is. Highlights, selections and the item under a click cover every
// point.
//
// Beside it: map-figure.js builds the traces and layout, map-coords.js converts pixels and
// data, map-events.js and map-probe.js turn Plotly's and the pointer's events into the map's.

/* global Plotly */
import { idsInBox, idsInPolygon, indexOf, pickDrawn, sortedOrNull } from "./drawn.js";
import { clampedData, frameOf, plotArea, toData, toPixel, viewRange, watchSize } from "./map-coords.js";
import { mapLayout, overlayTrace, pointsTrace } from "./map-figure.js";
import { bindPointerEvents } from "./map-events.js";
import { bindProbe } from "./map-probe.js";

// Most points in the trace at once. 100,000 scattergl markers take Plotly about a second to
// lay out and paint on 2 cores without a GPU; more only pile up on each other at the
// overview's scale.
export const DRAW_CAP = 100_000;
const REDRAW_MS = 120; // after the last zoom or pan step (a scroll zoom fires many)

export class LatentMap {
  /**
   * node: the element Plotly draws into (its parent is watched for size changes).
   * options:
   *   overlays: {name: style} traces drawn above the points, in this order ({} for none);
   *   tool: the first tool ("probe", "pan", "zoom", "lasso" or "select");
   *   faded: the opacity of points that are not highlighted while some are;
   *   hoverLabel: id -> text for Plotly's own hover label; without it, "hover" events;
   *   clickSelects: a click on a point (outside the probe tool) selects that item;
   *   doubleClickResets: a double click resets the view (off where clicks probe).
   */
  constructor(node, options = {}) {
    this.gd = node;
    this.options = {
      overlays: {},
      tool: "probe",
      faded: 0.25,
      hoverLabel: null,
      clickSelects: false,
      doubleClickResets: false,
      ...options,
    };
    this.tool = this.options.tool;
    node.dataset.tool = this.tool; // the CSS keeps touches from scrolling the page in Probe mode
    this.drawCap = DRAW_CAP;
    this.view = null; // what to draw: {points, key, colour, hidden}
    this.drawn = new Int32Array(0); // the trace's items, ascending: trace index -> item id
    this.complete = true; // whether they are every shown point in view
    this.highlighted = null; // sorted item ids lit up, or null: none
    this.overlays = Object.fromEntries(Object.keys(this.options.overlays).map((k) => [k, { xy: [] }]));
    this.zoomRange = null; // the view the sample is drawn for, {x, y}; null: the whole map
    this.zoomKey = null; // the view key that zoom belongs to
    this.redrawTimer = null;
    this.selectionRevision = 0; // Plotly keeps the user's box or lasso until this changes
    this.muted = 0; // > 0 while the page itself changes the plot: its events are not the user's
    this.lastRange = null; // the last box selected, in data units (for tests)
    this.press = null; // a probe press in progress
    this.adding = false; // Shift was held when the current box or lasso began: it adds
    this.images = []; // layout images above the points (map-images.js), and how far (px) a
    this.reach = 0; // pointer may be from a point and be on it (0: the defaults)
    this.listeners = { select: [], probe: [], hover: [], overlayhover: [], unhover: [], view: [], zoom: [] };
    this.bound = false;
  }

  /**
   * Listen to the user: "select" (ids, empty when cleared; how: "select" | "click" | "page"), "probe"
   * ({phase: "start" | "move" | "end", xy, moved, item}), "hover" (id, pointer event),
   * "overlayhover" (overlay name, index in it, pointer event; overlays styled with `hover`),
   * "unhover", "view" (after every draw, zoom, pan or resize), and "zoom" (the user's zoom or
   * pan: the range in view, or null for the whole map).
   */
  on(event, fn) {
    this.listeners[event].push(fn);
    return this;
  }

  emit(event, ...args) {
    for (const fn of this.listeners[event]) fn(...args);
  }

  // ---- what is drawn ------------------------------------------------------------------------
  /**
   * Draw `points` (the binary form, decoded: {x, y, order, count}) coloured by `colour` (a
   * field of places.js buildFields, or null), leaving out `hidden` ({codes, off}: off[code] is
   * 1 for a hidden category; or null). `key` names the model and projection: the view (zoom)
   * is kept while it stays the same. `highlighted`: item ids to light up (null: none), when
   * the page sets them anew.
   */
  async draw({ points, key, colour = null, hidden = null, highlighted = undefined }) {
    this.view = { points, key, colour, hidden };
    if (highlighted !== undefined) {
      this.highlighted = sortedOrNull(highlighted);
      this.selectionRevision += 1;
    }
    if (key !== this.zoomKey) {
      this.zoomKey = key;
      this.zoomRange = null;
    }
    return this.render();
  }

  /** Draw again what was last drawn (the points and every overlay). */
  async render() {
    if (!this.view) return;
    const overlays = Object.keys(this.overlays).map((name) =>
      overlayTrace(name, this.options.overlays[name], this.overlayXY(name)),
    );
    const data = [this.sampleTrace(), ...overlays];
    await this.quietly(() =>
      Plotly.react(this.gd, data, this.layout(), {
        displayModeBar: false,
        // Plotly's "Double-click to zoom back out" tip would sit over the page's header (and
        // a double click probes here); Reset view is the way back.
        showTips: false,
        scrollZoom: true,
        doubleClick: this.options.doubleClickResets ? "reset+autosize" : false,
        responsive: true,
      }),
    );
    this.bind();
    const { dataset } = this.gd;
    dataset.ready = "true";
    // For tests and benchmarks: how many points are drawn, and a count of redraws to wait on.
    dataset.drawn = String(this.drawn.length);
    dataset.complete = String(this.complete);
    dataset.renders = String(Number(dataset.renders || 0) + 1);
    this.emit("view");
  }

  /** The default cap (the browser benchmark reads it). */
  get DRAW_CAP() {
    return DRAW_CAP;
  }

  get points() {
    return this.view ? this.view.points : null;
  }

  /** The items in the points trace, ascending (trace index -> item id). */
  drawnIds() {
    return this.drawn;
  }

  /** Change the cap (the browser tests lower it to check the sampling); redraws. */
  setDrawCap(cap) {
    this.drawCap = cap > 0 ? Math.floor(cap) : DRAW_CAP;
    return this.render();
  }

  shown(id) {
    const hidden = this.view && this.view.hidden;
    return !hidden || !hidden.off[hidden.codes[id]];
  }

  /** Every item that is not in a hidden class (drawn or not), ascending. */
  visibleIds() {
    const ids = [];
    const count = this.points ? this.points.count : 0;
    for (let id = 0; id < count; id += 1) if (this.shown(id)) ids.push(id);
    return ids;
  }

  /** The shown items inside the view (drawn or not), ascending: every shown item when the
   * map is not zoomed. */
  idsInView() {
    const range = this.zoomRange && this.viewRange();
    return range ? idsInBox(this.points, (id) => this.shown(id), range) : this.visibleIds();
  }

  /** How many items are not in a hidden class. */
  visibleCount() {
    const points = this.points;
    if (!points) return 0;
    if (!this.view.hidden) return points.count;
    let n = 0;
    for (let id = 0; id < points.count; id += 1) n += this.shown(id) ? 1 : 0;
    return n;
  }

  /** Pick the items to draw (the sample for the view) and make their trace. */
  sampleTrace() {
    const { points, colour, hidden } = this.view;
    // Everything fits under the cap: draw it all, whatever the view (no redraws on zoom).
    const range = this.visibleCount() > this.drawCap ? this.zoomRange : null;
    const { ids, complete } = pickDrawn(points, { cap: this.drawCap, range, hidden });
    this.drawn = ids;
    this.complete = complete;
    return pointsTrace({
      points,
      ids,
      colour,
      scale: Math.min(points.count, this.drawCap),
      selected: this.traceIndices(this.highlighted),
      faded: this.options.faded,
      hoverLabel: this.options.hoverLabel,
    });
  }

  layout() {
    return mapLayout({
      colour: this.view.colour,
      dragmode: this.dragmode(),
      key: this.view.key,
      selectionRevision: this.selectionRevision,
      images: this.images,
      reach: this.reach,
    });
  }

  /** Draw Plotly layout `images` above the points, kept across redraws; a pointer `reach` px
   * from a point (0: the defaults) is on it, so a picture over a point hovers and probes it. */
  async setImages(images, reach = 0) {
    Object.assign(this, { images, reach });
    if (!this.gd.data) return;
    const { hoverdistance } = this.layout();
    await this.quietly(() => Plotly.relayout(this.gd, { images, hoverdistance }));
  }

  dragmode() {
    return this.tool === "probe" ? false : this.tool;
  }

  // ---- highlighted items ------------------------------------------------------------------
  /** Trace indices of the drawn items among `ids`, or null for no highlight. */
  traceIndices(ids) {
    if (!ids) return null;
    const out = [];
    for (const id of ids) {
      const index = indexOf(this.drawn, id);
      if (index >= 0) out.push(index);
    }
    return out;
  }

  /** Light up these item ids (null or empty: none), drawing the others faint; a box or lasso
   * the user left on the map goes, since it no longer says what is lit. */
  async highlight(ids) {
    this.highlighted = sortedOrNull(ids);
    this.selectionRevision += 1;
    if (!this.gd.data) return;
    await this.quietly(async () => {
      if ((this.gd.layout.selections || []).length) {
        await Plotly.relayout(this.gd, { selections: [], selectionrevision: this.selectionRevision });
      }
      await Plotly.restyle(this.gd, { selectedpoints: [this.traceIndices(this.highlighted)] }, [0]);
    });
  }

  /** Select these items for the user (a panel's list, e.g. the outliers), as a lasso would. */
  async selectIds(ids) {
    await this.highlight(ids);
    this.emit("select", [...ids], "page");
  }

  // ---- overlays -----------------------------------------------------------------------------
  // An overlay holds either dataset item ids (placed from the current points, so they follow a
  // change of projection) or positions the page gave for the current projection.
  overlayXY(name) {
    const { ids, xy } = this.overlays[name];
    if (!ids) return { x: xy.map((p) => p[0]), y: xy.map((p) => p[1]) };
    const { x, y, count } = this.points;
    const inside = ids.filter((id) => id < count);
    return { x: inside.map((id) => x[id]), y: inside.map((id) => y[id]) };
  }

  redrawOverlay(name) {
    if (!this.gd.data || !this.points) return;
    const { x, y } = this.overlayXY(name);
    const index = 1 + Object.keys(this.overlays).indexOf(name);
    const trace = this.gd.data[index];
    // Emptying an empty overlay would still redraw the whole scene (~0.2 s at 70k points).
    if (x.length === 0 && trace && (!trace.x || trace.x.length === 0)) return;
    this.quietly(() => Plotly.restyle(this.gd, { x: [x], y: [y] }, [index]));
  }

  /** Replace an overlay's points: `xy` is a list of [x, y] in the current projection. */
  setOverlay(name, xy) {
    this.overlays[name] = { xy };
    this.redrawOverlay(name);
  }

  /** Replace an overlay's points by dataset items. */
  setOverlayIds(name, ids) {
    this.overlays[name] = { ids: [...ids] };
    this.redrawOverlay(name);
  }

  clearOverlays() {
    for (const name of Object.keys(this.overlays)) this.overlays[name] = { xy: [] };
  }

  // ---- tools and the view ---------------------------------------------------------------------
  setTool(tool) {
    this.tool = tool;
    this.gd.dataset.tool = tool;
    if (this.gd.data) this.quietly(() => Plotly.relayout(this.gd, { dragmode: this.dragmode() }));
  }

  /** Show the data ranges `view` ({x: [x0, x1], y: [y0, y1]}), as a zoom would. */
  async setView(view) {
    if (!this.gd.data || !view) return;
    await Plotly.relayout(this.gd, { "xaxis.range": view.x.slice(), "yaxis.range": view.y.slice() });
  }

  resetView() {
    if (this.gd.data) Plotly.relayout(this.gd, { "xaxis.autorange": true, "yaxis.autorange": true });
  }

  // Pixel <-> data: map-coords.js, read from this map's figure.
  viewRange() {
    return viewRange(this.gd);
  }

  plotArea() {
    return plotArea(this.gd);
  }

  frame() {
    return frameOf(this.gd);
  }

  toData(clientX, clientY) {
    return toData(this.gd, clientX, clientY);
  }

  toPixel(x, y) {
    return toPixel(this.gd, x, y);
  }

  clampedData(clientX, clientY) {
    return clampedData(this.gd, clientX, clientY);
  }

  // ---- the user's selections ------------------------------------------------------------------
  /** The items a box or lasso selected: Plotly's own answer when every point in view is drawn,
   * else the shape tested against every shown point (undrawn ones too). */
  selectedIds(event) {
    if (this.complete) {
      return event.points.filter((p) => p.curveNumber === 0).map((p) => this.drawn[p.pointIndex]);
    }
    const shown = (id) => this.shown(id);
    if (event.lassoPoints) return idsInPolygon(this.points, shown, event.lassoPoints);
    return event.range ? idsInBox(this.points, shown, event.range) : [];
  }

  /** The user zoomed or panned to `range` (null: back to the whole map). */
  zoomed(range) {
    this.zoomRange = range;
    this.emit("zoom", range);
    // Below the cap every point is drawn already; above it the sample is redrawn for the new
    // view once the zooming stops.
    if (this.visibleCount() <= this.drawCap) return;
    clearTimeout(this.redrawTimer);
    this.redrawTimer = setTimeout(() => this.render(), REDRAW_MS);
  }

  async quietly(change) {
    this.muted += 1;
    try {
      return await change();
    } finally {
      this.muted -= 1;
    }
  }

  // ---- events: bound once the plot exists ------------------------------------------------------
  bind() {
    if (this.bound) return;
    this.bound = true;
    const gd = this.gd;
    bindPointerEvents(this);
    bindProbe(this);
    this.observer = watchSize(gd, () => {
      if (this.points) Plotly.Plots.resize(gd).then(() => this.emit("view"));
    });
  }

  /** Take the map off the page for good (the compare page removes a model's card). */
  dispose() {
    if (this.observer) this.observer.disconnect();
    clearTimeout(this.redrawTimer);
    Plotly.purge(this.gd);
  }
}

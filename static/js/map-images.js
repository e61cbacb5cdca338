// Images on the explorer's map (issue 15, part 3), drawn as Plotly layout images above the
// points (map.js setImages), so the points trace underneath still takes every hover, click,
// probe and selection:
//   thumbnails: once fewer than THUMB_LIMIT shown items are in view, each one's stored image
//     in place of its dot, centred on it;
//   exemplars (the checkbox under the map): at any zoom, one item per dense region: the view is
//     cut into cells of about EXEMPLAR_CELL px, and each cell holding enough points shows the
//     item nearest the mean of its points' positions.
// Both are worked out here, in the page, from the positions it already holds: they depend on
// the view and the hidden classes, which only the page knows, and cost a few ms a view (one
// pass over the points), less than a request per pan would. The images come from
// GET .../thumbnails (many items per request) and are kept per model for the session.

import { api } from "./api.js";
import { can } from "./capabilities.js";
import { state } from "./state.js";
import { $ } from "./ui.js";

const THUMB_LIMIT = 300; // items in view below which thumbnails replace dots
let thumbLimit = THUMB_LIMIT;
const THUMB_PX = [18, 56]; // a thumbnail's side on screen, px: at least, at most
const EXEMPLAR_CELL = 110; // px: the exemplar grid's cell, about
const EXEMPLAR_PX = 56; // an exemplar's side on screen
const EXEMPLAR_MIN = 5; // points a cell needs (and 0.3 % of those in view) to be dense
const BATCH = 500; // ids per request: the endpoint's limit
const SETTLE_MS = 60; // after the last view change (a scroll zoom fires many)
const WHEEL_SETTLE_MS = 150; // after the last wheel step, the pictures show again

const cache = new Map(); // item id -> PNG data URL, for cacheModel
let cacheModel = null;
let timer = null;
let generation = 0;
let drawnKey = ""; // what is drawn: nothing is redrawn while it stays the same

/** The item of each dense cell of the view: nearest the mean position of the cell's items. */
export function exemplars(points, ids, range, area) {
  const { x, y } = points;
  const cols = Math.max(1, Math.round(area.w / EXEMPLAR_CELL));
  const rows = Math.max(1, Math.round(area.h / EXEMPLAR_CELL));
  const [x0, x1] = [Math.min(...range.x), Math.max(...range.x)];
  const [y0, y1] = [Math.min(...range.y), Math.max(...range.y)];
  const cellOf = (id) => {
    const c = Math.min(cols - 1, Math.floor(((x[id] - x0) / (x1 - x0)) * cols));
    const r = Math.min(rows - 1, Math.floor(((y[id] - y0) / (y1 - y0)) * rows));
    return r * cols + c;
  };
  const n = new Int32Array(cols * rows);
  const sx = new Float64Array(cols * rows);
  const sy = new Float64Array(cols * rows);
  for (const id of ids) {
    const cell = cellOf(id);
    n[cell] += 1;
    sx[cell] += x[id];
    sy[cell] += y[id];
  }
  const dense = Math.max(EXEMPLAR_MIN, 0.003 * ids.length);
  const best = new Int32Array(cols * rows).fill(-1);
  const bestD = new Float64Array(cols * rows).fill(Infinity);
  for (const id of ids) {
    const cell = cellOf(id);
    if (n[cell] < dense) continue;
    const d = (x[id] - sx[cell] / n[cell]) ** 2 + (y[id] - sy[cell] / n[cell]) ** 2;
    if (d < bestD[cell]) {
      bestD[cell] = d;
      best[cell] = id;
    }
  }
  return Array.from(best).filter((id) => id >= 0);
}

/** A thumbnail's side in px: the median distance on screen from an item in view to its
 * nearest neighbour (so most pictures touch their neighbours at most), within THUMB_PX. */
function thumbSide(points, ids, scale) {
  const { x, y } = points;
  const nearest = ids.map((a) => {
    let d = Infinity;
    for (const b of ids) {
      if (b !== a) d = Math.min(d, Math.hypot((x[a] - x[b]) / scale.x, (y[a] - y[b]) / scale.y));
    }
    return d;
  });
  nearest.sort((a, b) => a - b);
  const median = nearest[Math.floor(nearest.length / 2)];
  return Math.min(THUMB_PX[1], Math.max(THUMB_PX[0], Number.isFinite(median) ? median : Infinity));
}

/** Fetch the images of `ids` not yet cached, BATCH per request. */
async function fetchImages(model, ids) {
  if (cacheModel !== model) {
    cache.clear();
    cacheModel = model;
  }
  const missing = ids.filter((id) => !cache.has(id));
  for (let i = 0; i < missing.length; i += BATCH) {
    const answer = await api.thumbnails(model, missing.slice(i, i + BATCH));
    answer.ids.forEach((id, k) => cache.set(id, answer.images[k]));
  }
}

/** A layout image of item `id`, `px` pixels square on screen. */
function picture(points, id, px, scale, opacity) {
  return {
    source: cache.get(id),
    xref: "x",
    yref: "y",
    x: points.x[id],
    y: points.y[id],
    sizex: px * scale.x,
    sizey: px * scale.y,
    xanchor: "center",
    yanchor: "middle",
    sizing: "stretch",
    layer: "above",
    opacity,
  };
}

/** Work out what to draw for the map's view, fetch what is missing, and draw it. */
async function update(map) {
  const run = ++generation;
  const frame = map.frame();
  const points = map.points;
  const showExemplars = $("#exemplars-toggle").checked;
  if (!frame || !points || !can.images) return draw(map, "", [], 0, { thumbs: 0, exemplars: 0 });
  const inView = map.idsInView();
  const { range, area } = frame;
  const thumbs = inView.length > 0 && inView.length < thumbLimit;
  const ids = thumbs ? inView : showExemplars ? exemplars(points, inView, range, area) : [];
  const scale = {
    x: Math.abs(range.x[1] - range.x[0]) / area.w,
    y: Math.abs(range.y[1] - range.y[0]) / area.h,
  };
  const px = thumbs ? thumbSide(points, ids, scale) : EXEMPLAR_PX;
  const key = ids.length
    ? `${state.model}|${thumbs}|${px.toFixed(1)}|${scale.x}|${scale.y}|${ids.join(",")}`
    : "";
  if (key === drawnKey) return;
  try {
    await fetchImages(state.model, ids);
  } catch {
    return; // the dots are still there; the next view change tries again
  }
  if (run !== generation) return; // the view moved on while the images came
  const images = ids.map((id) => picture(points, id, px, scale, thumbs ? 1 : 0.95));
  await draw(map, key, images, thumbs ? px / 2 : 0, {
    thumbs: thumbs ? ids.length : 0,
    exemplars: thumbs ? 0 : ids.length,
  });
}

async function draw(map, key, images, reach, counts) {
  if (key === drawnKey) return;
  drawnKey = key;
  // A relayout during the user's box or lasso would drop it: none when nothing changes.
  if (images.length || map.images.length) await map.setImages(images, reach);
  // For tests and benchmarks: what is drawn.
  map.gd.dataset.thumbnails = String(counts.thumbs);
  map.gd.dataset.exemplars = String(counts.exemplars);
  map.gd.dataset.imageDraws = String(Number(map.gd.dataset.imageDraws || 0) + 1);
}

/** Change the threshold (the browser benchmark sets 0 to time the same view on dots alone). */
export function setThumbLimit(limit) {
  thumbLimit = limit >= 0 ? limit : THUMB_LIMIT;
}

/** Redraw the map's images whenever its view changes (draws, zooms, pans, resizes). */
export function setup(map) {
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => update(map), SETTLE_MS);
  };
  map.gd.dataset.thumbnails = "0";
  map.gd.dataset.exemplars = "0";
  map.on("view", later);
  // A scroll zoom moves the view once per wheel step, and Plotly redraws every layout image
  // with it (50-140 ms a step with 30 pictures, software-rendered): the pictures step aside
  // (CSS, no relayout) until the wheel has been still for WHEEL_SETTLE_MS, then come back
  // redrawn for the new view. The dots underneath stay.
  let wheelTimer = null;
  map.gd.addEventListener(
    "wheel",
    () => {
      if (!map.images.length) return;
      map.gd.classList.add("wheeling");
      clearTimeout(wheelTimer);
      wheelTimer = setTimeout(() => map.gd.classList.remove("wheeling"), WHEEL_SETTLE_MS);
    },
    { capture: true, passive: true },
  );
  $("#exemplars-toggle").addEventListener("change", later);
}

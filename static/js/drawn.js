// Which points the map draws. Past a cap the map draws a sample: the first items of the
// server's draw order (a seeded random permutation) that are shown and inside the view. The
// overview is thus a fair sample of the whole map; zooming in keeps those points and adds the
// next ones in the order that fall inside the new view, until every point in it is drawn.

/**
 * points: {x, y, order} (typed arrays); options:
 *   cap: most points to draw;
 *   range: {x: [x0, x1], y: [y0, y1]} to keep only points inside it, or null (everywhere);
 *   hidden: {codes, off} to leave out items whose category code has off[code] true, or null.
 * Returns {ids, complete}: ids an Int32Array of item ids in ascending order (so a trace index
 * maps to an item id by ids[index], and back by binary search); complete is false when the
 * cap left out points that the range and the hidden classes would have shown.
 */
export function pickDrawn(points, { cap, range = null, hidden = null }) {
  const { x, y, order } = points;
  const n = order.length;
  const out = new Int32Array(Math.min(cap, n));
  const [x0, x1] = range ? [Math.min(...range.x), Math.max(...range.x)] : [-Infinity, Infinity];
  const [y0, y1] = range ? [Math.min(...range.y), Math.max(...range.y)] : [-Infinity, Infinity];
  const codes = hidden ? hidden.codes : null;
  const off = hidden ? hidden.off : null;
  let kept = 0;
  let complete = true;
  for (let k = 0; k < n; k += 1) {
    const id = order[k];
    if (codes && off[codes[id]]) continue;
    const px = x[id];
    const py = y[id];
    if (range && !(px >= x0 && px <= x1 && py >= y0 && py <= y1)) continue;
    if (kept === out.length) {
      complete = false;
      break;
    }
    out[kept] = id;
    kept += 1;
  }
  return { ids: out.slice(0, kept).sort(), complete };
}

/** Item ids in ascending order, or null for none. */
export function sortedOrNull(ids) {
  return ids && ids.length ? [...ids].sort((a, b) => a - b) : null;
}

/** The position of item `id` in the ascending `ids`, or -1. */
export function indexOf(ids, id) {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] === id) return mid;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Is [px, py] inside the polygon with vertices xs[i], ys[i]? (even-odd rule) */
export function insidePolygon(xs, ys, px, py) {
  let inside = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i, i += 1) {
    if (ys[i] > py !== ys[j] > py && px < ((xs[j] - xs[i]) * (py - ys[i])) / (ys[j] - ys[i]) + xs[i]) {
      inside = !inside;
    }
  }
  return inside;
}

/** The ids of the points (typed arrays {x, y, count}) that pass `shown` and lie inside the
 * data box `range` ({x: [x0, x1], y: [y0, y1]}, either order), ascending. */
export function idsInBox({ x, y, count }, shown, range) {
  const [x0, x1] = [Math.min(...range.x), Math.max(...range.x)];
  const [y0, y1] = [Math.min(...range.y), Math.max(...range.y)];
  const ids = [];
  for (let id = 0; id < count; id += 1) {
    if (shown(id) && x[id] >= x0 && x[id] <= x1 && y[id] >= y0 && y[id] <= y1) ids.push(id);
  }
  return ids;
}

/** The ids of the points that pass `shown` and lie inside the lasso `{x: [...], y: [...]}`. */
export function idsInPolygon({ x, y, count }, shown, lasso) {
  const ids = [];
  for (let id = 0; id < count; id += 1) {
    if (shown(id) && insidePolygon(lasso.x, lasso.y, x[id], y[id])) ids.push(id);
  }
  return ids;
}

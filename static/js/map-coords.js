// Pixel <-> data conversion for the map component (map.js), from the Plotly figure `gd`.
// Pure reads of the plot: nothing here changes it.

/** The data ranges in view: {x: [x0, x1], y: [y0, y1]}, or null before the first draw.
 * Plotly writes the ranges it shows (autoranged, zoomed or panned) back into the layout. */
export function viewRange(gd) {
  const layout = gd.layout;
  const x = layout && layout.xaxis && layout.xaxis.range;
  const y = layout && layout.yaxis && layout.yaxis.range;
  return x && y ? { x: x.slice(), y: y.slice() } : null;
}

/** The plot area inside the axes, in pixels from the element's corner: {l, t, w, h}.
 *
 * The one read of Plotly's private state: its public API has no accessor for the plot area,
 * and the margins the layout asks for are not always the ones drawn (a colour bar pushes
 * the right margin out when it needs more room). */
export function plotArea(gd) {
  const full = gd._fullLayout;
  return full && full._size ? full._size : null;
}

/** Both the view and the plot area, or null before the first draw. */
export function frameOf(gd) {
  const range = viewRange(gd);
  const area = plotArea(gd);
  return range && area ? { range, area } : null;
}

/** Client pixel -> data [x, y], or null outside the plot area. */
export function toData(gd, clientX, clientY) {
  const frame = frameOf(gd);
  if (!frame) return null;
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = frame.area;
  const px = clientX - rect.left - l;
  const py = clientY - rect.top - t;
  if (px < 0 || py < 0 || px > w || py > h) return null;
  const [x0, x1] = frame.range.x;
  const [y0, y1] = frame.range.y;
  return [x0 + (px / w) * (x1 - x0), y1 - (py / h) * (y1 - y0)];
}

/** Data [x, y] -> pixel offset inside the map element (null when out of view). */
export function toPixel(gd, x, y) {
  const frame = frameOf(gd);
  if (!frame) return null;
  const { l, t, w, h } = frame.area;
  const [x0, x1] = frame.range.x;
  const [y0, y1] = frame.range.y;
  const px = l + ((x - x0) / (x1 - x0)) * w;
  const py = t + ((y1 - y) / (y1 - y0)) * h;
  return px < l || px > l + w || py < t || py > t + h ? null : [px, py];
}

/** Client pixel -> data, the pixel first moved inside the plot area. */
export function clampedData(gd, clientX, clientY) {
  const area = plotArea(gd);
  if (!area) return null;
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = area;
  const cx = Math.min(Math.max(clientX, rect.left + l), rect.left + l + w);
  const cy = Math.min(Math.max(clientY, rect.top + t), rect.top + t + h);
  return toData(gd, cx, cy);
}

/** Call `onResize` when the box around the plot changes size, past the size it has now;
 * returns the ResizeObserver (disconnect it to stop). The observer also fires once when it
 * starts: at the size the map was just drawn at, a resize would redraw every point for nothing
 * (1.4-1.8 s at 70,000 points); but the page may have changed the box since the draw (the
 * legend's chips arrive after it, taking ~23 px), and then the plot must follow, or it
 * overflows its box. */
export function watchSize(gd, onResize) {
  const box = gd.parentElement;
  const pad = getComputedStyle(box);
  let size = { // the content box, as the observer reports it
    width: box.clientWidth - parseFloat(pad.paddingLeft) - parseFloat(pad.paddingRight),
    height: box.clientHeight - parseFloat(pad.paddingTop) - parseFloat(pad.paddingBottom),
  };
  const observer = new ResizeObserver((entries) => {
    const { width, height } = entries[0].contentRect;
    const changed = Math.abs(size.width - width) > 0.5 || Math.abs(size.height - height) > 0.5;
    size = { width, height };
    if (changed) onResize();
  });
  observer.observe(box);
  return observer;
}

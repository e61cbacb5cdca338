// Probing a map (map.js) with the pointer: press, drag, release. A press on a drawn point is on
// that item; a drag reports the places it passes, held inside the plot area.

const PROBE_REACH = 5; // px: a press this close to a drawn point is on that item
const DRAG_START = 3; // px the pointer must move before a press becomes a drag

/** The drawn item of `map` under the pointer (within its marker), or null. */
function itemAt(map, clientX, clientY) {
  const frame = map.frame();
  if (!frame) return null;
  const { x, y } = map.points;
  const rect = map.gd.getBoundingClientRect();
  const { l, t, w, h } = frame.area;
  const [x0, x1] = frame.range.x;
  const [y0, y1] = frame.range.y;
  const sx = w / (x1 - x0);
  const sy = h / (y1 - y0);
  const px = clientX - rect.left - l;
  const py = clientY - rect.top - t;
  let best = null;
  const reach = Math.max(PROBE_REACH, map.reach || 0); // a thumbnail drawn over it: its size
  let bestD = reach * reach;
  for (const id of map.drawn) {
    const dx = (x[id] - x0) * sx - px;
    const dy = (y1 - y[id]) * sy - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = id;
    }
  }
  return best;
}

/** Report `map`'s probe tool as "probe" events ({phase, xy, moved, item}); `map.press` holds
 * the press in progress (hover cards wait until it ends). */
export function bindProbe(map) {
  map.gd.addEventListener(
    "pointerdown",
    (event) => {
      if (map.tool !== "probe" || event.button !== 0 || !map.points) return;
      const xy = map.toData(event.clientX, event.clientY);
      if (!xy) return;
      event.preventDefault();
      const item = itemAt(map, event.clientX, event.clientY);
      map.press = { x0: event.clientX, y0: event.clientY, moved: false, item };
      map.emit("unhover");
      map.emit("probe", { phase: "start", xy, item });
    },
    true,
  );
  window.addEventListener("pointermove", (event) => {
    const press = map.press;
    if (!press) return;
    if (!press.moved && Math.hypot(event.clientX - press.x0, event.clientY - press.y0) < DRAG_START) return;
    press.moved = true;
    const xy = map.clampedData(event.clientX, event.clientY);
    if (xy) {
      press.last = xy;
      map.emit("probe", { phase: "move", xy, item: null });
    }
  });
  window.addEventListener("pointerup", (event) => {
    if (!map.press) return;
    const { moved, item } = map.press;
    map.press = null;
    const xy = map.clampedData(event.clientX, event.clientY);
    if (xy) map.emit("probe", { phase: "end", xy, moved, item: moved ? null : item });
  });
  // The browser took the pointer (a scroll or a system gesture): the drag ends where it was,
  // or the preview would stay "dragging".
  window.addEventListener("pointercancel", () => {
    const press = map.press;
    if (!press) return;
    map.press = null;
    const xy = press.last || map.toData(press.x0, press.y0);
    if (xy) map.emit("probe", { phase: "end", xy, moved: true, item: null });
  });
}

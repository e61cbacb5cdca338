"""The JavaScript the browser benchmark runs in the page (bench/browser.py): load probes, the
drag's frame counter, a timed zoom, and the two points forms read side by side."""

# Runs before the page's own scripts in every document: notes when the page's ready signals
# appear, and the main-thread long tasks (over 50 ms), in performance.now() time (0 is
# navigation start). `settled(quiet)` is the page's interactive time once the main thread has
# been free for `quiet` ms after both signals: the end of the last long task, as Lighthouse's
# time-to-interactive defines it. The signals alone are not enough: the page keeps redrawing
# the map for seconds after it sets them.
PROBE_SCRIPT = """(() => {
  const marks = {};
  const longTasks = [];
  const note = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const check = () => {
    const map = document.getElementById("map");
    if (map && map.dataset.ready === "true") note("map_drawn");
    if (document.body && document.body.dataset.ready === "true") note("page_ready");
  };
  const settled = (quiet) => {
    if (!("map_drawn" in marks && "page_ready" in marks)) return null;
    let busy = Math.max(marks.map_drawn, marks.page_ready);
    for (const [start, duration] of longTasks) busy = Math.max(busy, start + duration);
    return performance.now() - busy >= quiet ? busy : null;
  };
  window.__bench = { marks, longTasks, settled };
  new MutationObserver(check).observe(document, {
    attributes: true, subtree: true, attributeFilter: ["data-ready"],
  });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
})();"""

LOAD_FACTS = """() => {
  const gd = document.getElementById("map");
  const points = gd.data[0];
  const cap = window.latentExplorer.map.DRAW_CAP;
  const resources = performance.getEntriesByType("resource");
  const fetched = resources.find((e) => e.name.includes("/points?"));
  const plotly = resources.find((e) => /plotly/.test(e.name));
  const { marks, longTasks } = window.__bench;
  return {
    marks,
    trace_type: points.type,
    drawn_points: points.x.filter((v) => v !== null).length,
    count: window.latentExplorer.loaded.points.count,
    cap,
    points_request: [fetched.startTime, fetched.responseEnd, fetched.encodedBodySize],
    plotly_request: [plotly.responseEnd, plotly.encodedBodySize],
    long_tasks: longTasks,
  };
}"""

PLOT_BOX = """() => {
  const gd = document.getElementById("map");
  const r = gd.getBoundingClientRect();
  const s = gd._fullLayout._size;
  return { x: r.left + s.l, y: r.top + s.t, w: s.w, h: s.h };
}"""

# Before the drag: note the time of every frame the stream shows and of every animation frame.
DRAG_START = """() => {
  const image = document.querySelector("#preview-image");
  const probe = { t0: performance.now(), frames: [], paints: 0, longTasks: [], on: true };
  window.__drag = probe;
  new MutationObserver(() => probe.on && probe.frames.push(performance.now()))
    .observe(image, { attributes: true, attributeFilter: ["data-frames"] });
  const paint = () => { if (probe.on) { probe.paints += 1; requestAnimationFrame(paint); } };
  requestAnimationFrame(paint);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (probe.on) probe.longTasks.push(e.duration);
  }).observe({ type: "longtask" });
}"""

DRAG_STOP = """() => {
  const probe = window.__drag;
  probe.on = false;
  return { seconds: (performance.now() - probe.t0) / 1000, frames: probe.frames,
           paints: probe.paints, long_tasks_ms: probe.longTasks,
           readout: document.querySelector("#drag-rate").textContent };
}"""


# Zoom into the middle tenth of the map (a tenth of each axis' range) and time it until the
# sample is redrawn for that view (the page waits REDRAW_MS after the last zoom step first)
# and the next frame is painted.
ZOOM = """async () => {
  const gd = document.getElementById("map");
  const [x0, x1] = gd._fullLayout.xaxis.range;
  const [y0, y1] = gd._fullLayout.yaxis.range;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, wx = (x1 - x0) / 20, wy = (y1 - y0) / 20;
  const before = Number(gd.dataset.renders);
  const t0 = performance.now();
  const view = { "xaxis.range": [cx - wx, cx + wx], "yaxis.range": [cy - wy, cy + wy] };
  await Plotly.relayout(gd, view);
  while (Number(gd.dataset.renders) === before) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  const drawn = Number(gd.dataset.drawn);
  const complete = gd.dataset.complete === "true"; // every point in the view drawn
  await Plotly.relayout(gd, { "xaxis.autorange": true, "yaxis.autorange": true });
  while (Number(gd.dataset.renders) === before + 1) await new Promise((r) => setTimeout(r, 5));
  return { ms, drawn, complete };
}"""

# In a page of the app: GET the points in both forms, alternating, and read each as the page
# would (JSON.parse into arrays; the binary form into typed arrays by static/js/points.js).
# Each time runs from the request to a usable object.
FORMS = """async ([model, reps]) => {
  const { decodePoints } = await import("/static/js/points.js");
  const url = `/api/models/${encodeURIComponent(model)}/points?projection=umap`;
  const out = { json_ms: [], binary_ms: [], json_count: 0, binary_count: 0 };
  for (let i = 0; i < reps; i += 1) {
    let t = performance.now();
    const data = await (await fetch(url, { cache: "no-store" })).json();
    out.json_ms.push(performance.now() - t);
    out.json_count = data.x.length;
    t = performance.now();
    const buffer = await (await fetch(`${url}&format=binary`, { cache: "no-store" })).arrayBuffer();
    const points = decodePoints(buffer);
    out.binary_ms.push(performance.now() - t);
    out.binary_count = points.x.length;
  }
  return out;
}"""

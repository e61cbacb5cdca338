"""The map with thumbnails in place of dots (static/js/map-images.js) on the 70,000-point map:
how fluid a pan and a scroll zoom stay while they are shown, against the same gestures on the
same view on dots alone, and how long the thumbnails take to appear after a zoom.

The view is zoomed on the middle of the map until fewer than 300 items are in it (the page's
threshold), so thumbnails replace the dots. A pan is the Pan tool dragged by a real mouse
(Playwright's CDP input) along a loop at 60 Hz; a zoom is mouse-wheel steps at 60 Hz, in and
out in turn so the view stays below the threshold. Both count the page's animation frames
(requestAnimationFrame): the figure is the gesture's time per painted frame (its duration over
its frames; the gaps between frames are in the details), whose p50 over the page loads must
stay within the page's drag goal (30 frames a second, bench/browser.py GOAL_DRAG_FPS).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.browser import GOAL_DRAG_FPS, MOVE_HZ, first_visit
from bench.browser_scripts import PLOT_BOX
from bench.server import Server, running_server
from bench.stats import BenchError, Figure, Stats

GESTURE_SECONDS = 3.0
THUMB_LIMIT = 300  # static/js/map-images.js: fewer items than this in view get thumbnails

# Zoom on the middle of the map, halving the view until fewer than `limit` shown items are in
# it; wait for that many thumbnails; return the count and the time to them (incl. the fetch).
ZOOM_TO_THUMBNAILS = """async ([limit, show]) => {
  const { map } = window.latentExplorer;
  if (!show) (await import("/static/js/map-images.js")).setThumbLimit(0); // dots alone
  const gd = document.getElementById("map");
  const [x0, x1] = gd._fullLayout.xaxis.range;
  const [y0, y1] = gd._fullLayout.yaxis.range;
  const { x, y } = map.points;
  const ids = map.visibleIds();
  // the item nearest the middle of the map, so the view holds points
  let c = ids[0], best = Infinity;
  for (const id of ids) {
    const d = (x[id] - (x0 + x1) / 2) ** 2 + (y[id] - (y0 + y1) / 2) ** 2;
    if (d < best) { best = d; c = id; }
  }
  let wx = (x1 - x0) / 2, wy = (y1 - y0) / 2, n = Infinity;
  while (n >= limit) {
    wx /= 2; wy /= 2;
    n = ids.filter((id) => Math.abs(x[id] - x[c]) <= wx && Math.abs(y[id] - y[c]) <= wy).length;
  }
  const t0 = performance.now();
  const view = { "xaxis.range": [x[c] - wx, x[c] + wx], "yaxis.range": [y[c] - wy, y[c] + wy] };
  await Plotly.relayout(gd, view);
  while (show && Number(gd.dataset.thumbnails) !== n) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return { n, ms: performance.now() - t0 };
}"""

# Count animation frames and long tasks until PAINTS_STOP.
PAINTS_START = """() => {
  const probe = { frames: [], longTasks: [], on: true };
  window.__paints = probe;
  const paint = (t) => { if (probe.on) { probe.frames.push(t); requestAnimationFrame(paint); } };
  requestAnimationFrame(paint);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (probe.on) probe.longTasks.push(e.duration);
  }).observe({ type: "longtask" });
}"""

PAINTS_STOP = """() => {
  const probe = window.__paints;
  probe.on = false;
  const gd = document.getElementById("map");
  return { frames: probe.frames, long_tasks_ms: probe.longTasks,
           thumbnails: Number(gd.dataset.thumbnails) };
}"""


def _paced(seconds: float, step: Any) -> int:
    """Call step(t) at MOVE_HZ for `seconds`; returns how many calls."""
    start = time.perf_counter()
    calls = 0
    while (t := time.perf_counter() - start) < seconds:
        step(t)
        calls += 1
        pause = start + calls / MOVE_HZ - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return calls


def _record(page: Any, gesture: Any) -> dict[str, Any]:
    page.evaluate(PAINTS_START)
    started = time.perf_counter()
    events = gesture()
    seconds = time.perf_counter() - started
    probe = page.evaluate(PAINTS_STOP)
    gaps = np.diff(probe["frames"]) if len(probe["frames"]) > 1 else np.array([1000 * seconds])
    return {
        "seconds": seconds,
        "events": events,
        "frames": len(probe["frames"]),
        "fps": len(probe["frames"]) / seconds,
        "frame_gaps_ms": [round(float(g), 2) for g in gaps],
        "long_tasks_ms": [round(d) for d in probe["long_tasks_ms"]],
        "thumbnails_after": probe["thumbnails"],
    }


def _pan(page: Any, box: dict[str, float]) -> dict[str, Any]:
    """The Pan tool dragged along a small loop over the middle of the map."""
    page.click("input[name=tool][value=pan]", force=True)
    cx, cy = box["x"] + box["w"] / 2, box["y"] + box["h"] / 2

    def gesture() -> int:
        page.mouse.move(cx, cy)
        page.mouse.down()
        moves = _paced(
            GESTURE_SECONDS,
            lambda t: page.mouse.move(
                cx + 0.12 * box["w"] * np.sin(2 * np.pi * t / 1.5),
                cy + 0.1 * box["h"] * np.sin(2 * np.pi * t / 1.0),
            ),
        )
        page.mouse.up()
        return moves

    return _record(page, gesture)


def _wheel(page: Any, box: dict[str, float]) -> dict[str, Any]:
    """Scroll-zoom steps over the middle of the map, in and out in turn."""
    page.mouse.move(box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)

    def gesture() -> int:
        return _paced(
            GESTURE_SECONDS, lambda t: page.mouse.wheel(0, -40 if int(t * 4) % 2 == 0 else 40)
        )

    return _record(page, gesture)


def _visit(browser: Any, server: Server, thumbnails: bool) -> dict[str, Any]:
    with first_visit(browser, server) as (page, load):
        zoom = page.evaluate(ZOOM_TO_THUMBNAILS, [THUMB_LIMIT, thumbnails])
        page.wait_for_timeout(500)  # the page settles (the redraw after the zoom)
        box = page.evaluate(PLOT_BOX)
        pan = _pan(page, box)
        page.wait_for_timeout(500)
        wheel = _wheel(page, box)
    return {"count": load["count"], "zoom": zoom, "pan": pan, "wheel": wheel}


def measure_thumbnails(
    browser: Any, workspace: Path, model: str, out_dir: Path, loads: int = 2
) -> dict[str, Any]:
    """`loads` fresh visits with thumbnails shown, and as many on the same view with the
    thumbnails turned off (dots alone): the baseline, so the ratio is what the pictures cost."""
    with running_server(workspace, model, out_dir / "server-thumbs.log") as server:
        shown = [_visit(browser, server, thumbnails=True) for _ in range(loads)]
        dots = [_visit(browser, server, thumbnails=False) for _ in range(loads)]
    for visit in shown:
        if visit["zoom"]["n"] >= THUMB_LIMIT or visit["pan"]["thumbnails_after"] == 0:
            raise BenchError(f"thumbnails were not shown as the case needs: {visit['zoom']}")
    return {"model": model, "shown": shown, "dots": dots}


def thumbnail_figures(run: dict[str, Any], what: str) -> list[Figure]:
    """Pan and zoom frame times with thumbnails against dots alone, and the zoom to them."""
    shown, dots = run["shown"], run["dots"]
    items = [visit["zoom"]["n"] for visit in shown]

    def per_frame(visits: list[dict[str, Any]], gesture: str) -> Stats:
        return Stats.of([1000 / v[gesture]["fps"] for v in visits], "ms")

    base = "the same view and gesture on dots alone (thumbnails turned off)"
    figures = []
    for gesture, label in [("pan", "pan (Pan tool, mouse at 60 Hz)"), ("wheel", "scroll zoom")]:
        value = per_frame(shown, gesture)
        figures.append(
            Figure(
                f"browser_thumbs_{gesture}",
                "browser",
                f"{label} on the {what} with {min(items)}-{max(items)} thumbnails shown, "
                f"{GESTURE_SECONDS:g} s: time per painted frame ({1000 / value.p50:.0f} "
                f"frames/s)",
                value,
                baseline_label=base,
                baseline=per_frame(dots, gesture),
                ratio_kind="multiple",
                goal_p50=1000 / GOAL_DRAG_FPS,
                details={"shown": [v[gesture] for v in shown], "dots": [v[gesture] for v in dots]},
            )
        )
    figures.append(
        Figure(
            "browser_thumbs_zoom",
            "browser",
            f"zoom from the whole {what} to under 300 items: every thumbnail fetched (one "
            f"request) and drawn",
            Stats.of([v["zoom"]["ms"] for v in shown], "ms"),
            details={"zooms": [v["zoom"] for v in shown]},
        )
    )
    return figures

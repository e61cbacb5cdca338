"""Page helpers for the browser tests: where things are on the map, in client pixels."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

# The plot area (inside the axes) in client pixels, as the browser benchmark measures it.
from bench.browser_scripts import PLOT_BOX  # noqa: F401  (re-exported for the tests)

# The opening of a script that looks for places on the map: `rect` (the map's box), its plot
# area `l, t, w, h` and `pixels`, every point in view as a pixel offset inside the map, by the
# page's own data <-> pixel conversion (window.latentExplorer.map).
MAP_PIXELS = """
  const { loaded, map } = window.latentExplorer;
  const gd = document.getElementById("map");
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = gd._fullLayout._size;
  const pixels = [];
  for (let i = 0; i < loaded.points.count; i += 1) {
    const p = map.toPixel(loaded.points.x[i], loaded.points.y[i]);
    if (p) pixels.push(p);
  }
"""

EMPTY_SPOT = (
    "() => {"
    + MAP_PIXELS
    + """
  // Between points: the spot whose nearest point is closest to 24 px away, and at least 14.
  let best = null;
  let bestScore = Infinity;
  for (let x = l + 30; x < l + w - 30; x += 6) {
    for (let y = t + 30; y < t + h - 30; y += 6) {
      let d = Infinity;
      for (const [px, py] of pixels) d = Math.min(d, Math.hypot(px - x, py - y));
      if (d >= 14 && Math.abs(d - 24) < bestScore) {
        bestScore = Math.abs(d - 24);
        best = { x: rect.left + x, y: rect.top + y, nearest: d };
      }
    }
  }
  return best;
}"""
)

ITEM_SPOT = """(id) => {
  const { loaded, map } = window.latentExplorer;
  const rect = document.getElementById("map").getBoundingClientRect();
  const [px, py] = map.toPixel(loaded.points.x[id], loaded.points.y[id]);
  return { x: rect.left + px, y: rect.top + py };
}"""

# The client-pixel box around every item of one label (for box selections).
LABEL_BOX = """(label) => {
  const { loaded, map } = window.latentExplorer;
  const field = loaded.fields[loaded.points.label_field];
  const code = field.categories.indexOf(label);
  const rect = document.getElementById("map").getBoundingClientRect();
  const xs = [], ys = [];
  field.codes.forEach((c, id) => {
    if (c !== code) return;
    const p = map.toPixel(loaded.points.x[id], loaded.points.y[id]);
    if (p) { xs.push(p[0]); ys.push(p[1]); }
  });
  const q = (a, f) => a.slice().sort((u, v) => u - v)[Math.floor(f * (a.length - 1))];
  // the middle of the class: 20th to 80th percentile on each axis
  return { x0: rect.left + q(xs, 0.2), x1: rect.left + q(xs, 0.8),
           y0: rect.top + q(ys, 0.2), y1: rect.top + q(ys, 0.8), n: xs.length };
}"""

TRACE_SIZES = """() => Object.fromEntries(document.getElementById("map").data.map(
  (t) => [t.name, t.x.filter((v) => v !== null).length]))"""


def wait_for_url(page: Any, text: str) -> None:
    """The address bar is written shortly after a change (debounced); wait until it holds text."""
    page.wait_for_function("(text) => location.href.includes(text)", arg=text)


def wait_for_count(page: Any, selector: str, n: int) -> None:
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n", arg=[selector, n]
    )


def wait_for_map(page: Any, key: str, value: str) -> None:
    """Wait until the map has been drawn with ``data-<key>`` equal to ``value``."""
    page.wait_for_function(
        "([key, value]) => document.getElementById('map').dataset[key] === value", arg=[key, value]
    )


def wait_for_title(page: Any, start: str) -> None:
    """Wait until the preview's title starts with ``start``."""
    page.wait_for_function(
        "(start) => document.querySelector('#preview-title').textContent.startsWith(start)",
        arg=start,
    )


def image_size(page: Any, selector: str) -> tuple[int, int]:
    return tuple(page.eval_on_selector(selector, "img => [img.naturalWidth, img.naturalHeight]"))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

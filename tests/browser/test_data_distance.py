"""The preview says how far a decoded place is from the data: a click in a dense cluster is
"inside the data", a click in an empty region of the map (far from every point, inside the
axes) whose latent lies between clusters says so, a click in the emptiest spot says it is
away from the map's points, and the tooltip says what the label means."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.index.data_distance import DataDistance, knn_distance
from app.index.neighbors import NeighborIndex
from app.index.store import load_index
from app.workspace import INDEX_DIR
from tests.browser.conftest import Explorer
from tests.browser.helpers import MAP_PIXELS, wait_for_title

# The densest spot (most points within 12 px) and the empty ones (at least 30 px from every
# point, emptiest first), all at least 20 px inside the axes, in client pixels and map
# coordinates. Empty spots are taken inside the points' convex hull (a point beyond them in each
# of 36 directions): outside it the inverse map blends the nearest items' latents, so a click in
# an empty corner decodes a place inside the data; inside it, the map interpolates across gaps.
SPOTS = (
    "() => {"
    + MAP_PIXELS
    + """
  const angles = Array.from({ length: 36 }, (_, k) => (k * Math.PI) / 18);
  const turns = angles.map((a) => [Math.cos(a), Math.sin(a)]);
  let dense = null;
  let farthest = null; // the emptiest spot of all, in the hull or not
  const empty = [];
  for (let x = l + 20; x < l + w - 20; x += 5) {
    for (let y = t + 20; y < t + h - 20; y += 5) {
      let d = Infinity, n = 0;
      const beyond = turns.map(() => false);
      for (const [px, py] of pixels) {
        const r = Math.hypot(px - x, py - y);
        d = Math.min(d, r);
        if (r < 12) n += 1;
        turns.forEach(([u, v], k) => { if ((px - x) * u + (py - y) * v > 0) beyond[k] = true; });
      }
      const [cx, cy] = [rect.left + x, rect.top + y];
      const spot = { x: cx, y: cy, n, d, xy: map.toData(cx, cy) };
      if (!dense || n > dense.n) dense = spot;
      if (!farthest || d > farthest.d) farthest = spot;
      if (d >= 30 && beyond.every(Boolean)) empty.push(spot);
    }
  }
  empty.sort((a, b) => b.d - a.d);
  return { dense, empty, farthest };
}"""
)


LABEL_CHANGED = """(before) => {
  const node = document.querySelector('#preview-distance');
  return !node.hidden && node.textContent !== before && node.textContent !== '';
}"""


def click_and_read(explorer: Explorer, x: float, y: float, before: str) -> str:
    explorer.page.mouse.click(x, y)
    explorer.page.wait_for_function(LABEL_CHANGED, arg=before)
    return explorer.page.inner_text("#preview-distance")


def placements(workspace: Path, model_name: str, xy: np.ndarray) -> list[str]:
    """What the server will call each map point (umap) of ``xy`` (M, 2): its inverse map's
    latent placed by DataDistance on the same index, computed here in one batch."""
    index = load_index(workspace / model_name / INDEX_DIR)
    search = NeighborIndex(index.latents)
    fitted = DataDistance().fit(search, index.latents)
    distances = knn_distance(search, index.inverses["umap"].transform(xy), 1)
    return [fitted.placement(float(d)) for d in distances]


def away_from_points(workspace: Path, model_name: str, xy: list[float]) -> bool:
    """Whether the server calls map point ``xy`` (umap) away from the map's points: at or past
    the 99th percentile of the positions' own nearest-position distances."""
    inverse = load_index(workspace / model_name / INDEX_DIR).inverses["umap"]
    fitted = DataDistance().fit_distances(inverse.own_point_distances(10_000))
    return bool(fitted.percentile(inverse.point_distance([xy]))[0] >= 99.0)


def test_the_label_changes_from_a_cluster_to_an_empty_region(
    explorer: Explorer, workspace: Path, model_name: str
) -> None:
    explorer.open()
    page = explorer.page
    assert page.is_hidden("#preview-distance")  # nothing decoded yet
    spots = explorer.js(SPOTS)
    assert spots["dense"]["n"] >= 10, spots["dense"]
    # Most empty spots of the map still decode inside the data (the latent space is denser
    # than the 2D map shows); click the emptiest one whose latent is not.
    empty = spots["empty"]
    assert len(empty) >= 100
    labels = placements(workspace, model_name, np.array([s["xy"] for s in empty]))
    outside = [(s, p) for s, p in zip(empty, labels, strict=True) if p != "inside the data"]
    assert outside, "no empty spot of the map decodes outside the data"
    spot, expected = outside[0]
    assert spot["d"] >= 30

    inside = click_and_read(explorer, spots["dense"]["x"], spots["dense"]["y"], "")
    assert inside.startswith("inside the data · ") and inside.endswith(" percentile"), inside
    assert page.get_attribute("#preview-distance", "data-placement") == "inside the data"
    assert "nearest item" in (page.get_attribute("#preview-distance", "title") or "")
    explorer.screenshot("data-distance-inside")
    label = click_and_read(explorer, spot["x"], spot["y"], inside)
    wait_for_title(page, "Map point")
    away = " · away from the map's points"
    assert label == expected + (away if away_from_points(workspace, model_name, spot["xy"]) else "")
    assert page.get_attribute("#preview-distance", "data-placement") == expected
    explorer.screenshot("data-distance-outside")
    # The emptiest spot of the plot: its latent blends the nearest items' (inside the data),
    # and the label says the map has no item there.
    corner = spots["farthest"]
    assert corner["d"] >= 40 and away_from_points(workspace, model_name, corner["xy"])
    label = click_and_read(explorer, corner["x"], corner["y"], label)
    assert label.endswith(away), label
    # shown whole (it wraps), not cut off by an ellipsis
    assert page.eval_on_selector("#preview-distance", "n => n.scrollWidth <= n.clientWidth")
    assert "the map has no data here" in (page.get_attribute("#preview-distance", "title") or "")
    explorer.screenshot("data-distance-corner")

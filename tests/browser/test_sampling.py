"""Past its cap the map draws a sample and redraws the view's points on zoom: the sampling
module on its own, then the real page with the cap lowered below the digits' 1,797 points.
Expected ids come from the index on disk and the documented draw order (a seeded
permutation), not from the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.index.store import LatentIndex, load_index
from app.services.points import DRAW_ORDER_SEED
from app.workspace import INDEX_DIR
from tests.browser.conftest import Explorer
from tests.browser.helpers import ITEM_SPOT, PLOT_BOX

CAP = 300

# pickDrawn on 10,000 points of a 100 x 100 grid, in a seeded order, run in the page.
SAMPLING_UNIT = """async () => {
  const { pickDrawn, indexOf, insidePolygon } = await import("/static/js/drawn.js");
  const n = 10000;
  const x = new Float32Array(n), y = new Float32Array(n);
  for (let i = 0; i < n; i += 1) { x[i] = i % 100; y[i] = Math.floor(i / 100); }
  // a fixed permutation: multiplication by a number coprime with n
  const order = Uint32Array.from({ length: n }, (_, k) => (k * 7919) % n);
  const points = { x, y, order };
  const codes = Uint8Array.from({ length: n }, (_, i) => i % 3);
  const list = (r) => Array.from(r.ids);
  const small = { x: [10, 19.5], y: [29.5, 20] }; // reversed ends are fine
  const off = Uint8Array.from([1, 0, 1]);
  const ids = Int32Array.from([2, 5, 9]);
  return {
    overview: list(pickDrawn(points, { cap: 500 })),
    overviewComplete: pickDrawn(points, { cap: 500 }).complete,
    all: pickDrawn(points, { cap: n }).ids.length,
    allComplete: pickDrawn(points, { cap: n }).complete,
    // 10 x 10 = 100 points inside, fewer than the cap: every one of them
    small: list(pickDrawn(points, { cap: 500, range: small })),
    smallComplete: pickDrawn(points, { cap: 500, range: small }).complete,
    // 50 x 50 = 2,500 inside, more than the cap
    big: list(pickDrawn(points, { cap: 500, range: { x: [0, 49], y: [0, 49] } })),
    hidden: list(pickDrawn(points, { cap: 500, hidden: { codes, off } })),
    order: Array.from(order),
    indexOf: [indexOf(ids, 5), indexOf(ids, 6)],
    inside: [
      insidePolygon([0, 4, 4, 0], [0, 0, 4, 4], 1, 1),
      insidePolygon([0, 4, 0], [0, 0, 4], 3, 3),
    ],
  };
}"""


def first_in_order(order: list[int], keep: Any, cap: int) -> list[int]:
    return sorted([i for i in order if keep(i)][:cap])


def test_sampling_takes_the_first_shown_points_of_the_order(explorer: Explorer) -> None:
    explorer.open()
    got = explorer.js(SAMPLING_UNIT)
    order = got["order"]
    n = len(order)
    assert got["overview"] == sorted(order[:500]) and not got["overviewComplete"]
    assert got["all"] == n and got["allComplete"]

    def grid(x0: float, x1: float, y0: float, y1: float) -> Any:
        return lambda i: x0 <= i % 100 <= x1 and y0 <= i // 100 <= y1

    assert got["small"] == sorted(i for i in range(n) if grid(10, 19.5, 20, 29.5)(i))
    assert len(got["small"]) == 100 and got["smallComplete"]
    assert got["big"] == first_in_order(order, grid(0, 49, 0, 49), 500)
    assert got["hidden"] == first_in_order(order, lambda i: i % 3 == 1, 500)
    assert got["indexOf"] == [1, -1]
    assert got["inside"] == [True, False]


@pytest.fixture(scope="module")
def index(workspace: Path, model_name: str) -> LatentIndex:
    return load_index(workspace / model_name / INDEX_DIR)


def drawn(explorer: Explorer) -> dict[str, Any]:
    """The points trace as drawn: its item ids, x and y, and the redraw count."""
    return explorer.js(
        """() => {
          const gd = document.getElementById("map");
          const ids = Array.from(window.latentExplorer.map.drawnIds());
          return { ids, x: Array.from(gd.data[0].x), y: Array.from(gd.data[0].y),
                   renders: Number(gd.dataset.renders), drawn: Number(gd.dataset.drawn) };
        }"""
    )


def relayout(explorer: Explorer, update: dict[str, Any]) -> dict[str, Any]:
    """Change the view as a zoom or pan would and wait for the sample to be redrawn."""
    before = drawn(explorer)["renders"]
    explorer.js("(u) => Plotly.relayout(document.getElementById('map'), u)", update)
    explorer.page.wait_for_function(
        "(n) => Number(document.getElementById('map').dataset.renders) > n", arg=before
    )
    return drawn(explorer)


def test_map_draws_the_cap_and_every_point_of_a_zoomed_view(
    explorer: Explorer, index: LatentIndex
) -> None:
    explorer.open()
    page = explorer.page
    xy = index.projections["umap"].embedding_.astype(np.float32).astype(np.float64)
    n = len(index)
    order = np.random.default_rng(DRAW_ORDER_SEED).permutation(n)
    assert drawn(explorer)["drawn"] == n  # below the real cap every point is drawn

    # Overview with the cap lowered: exactly CAP points, the first CAP of the draw order.
    explorer.js("(cap) => window.latentExplorer.map.setDrawCap(cap)", CAP)
    page.wait_for_function(f"() => document.getElementById('map').dataset.drawn === '{CAP}'")
    overview = drawn(explorer)
    assert len(overview["ids"]) == len(overview["x"]) == CAP
    assert overview["ids"] == sorted(order[:CAP].tolist())
    ids = np.asarray(overview["ids"])
    np.testing.assert_array_equal(overview["x"], xy[ids, 0])  # trace index i is item ids[i]
    np.testing.assert_array_equal(overview["y"], xy[ids, 1])

    # Zoom into a small window around item 42: fewer points than the cap, so all of them.
    x0, y0 = xy[42]
    spread = np.ptp(xy, axis=0)
    x_range = [x0 - 0.04 * spread[0], x0 + 0.04 * spread[0]]
    y_range = [y0 - 0.04 * spread[1], y0 + 0.04 * spread[1]]
    inside = (
        (xy[:, 0] >= x_range[0])
        & (xy[:, 0] <= x_range[1])
        & (xy[:, 1] >= y_range[0])
        & (xy[:, 1] <= y_range[1])
    )
    assert 5 < inside.sum() < CAP
    zoomed = relayout(explorer, {"xaxis.range": x_range, "yaxis.range": y_range})
    assert zoomed["ids"] == np.flatnonzero(inside).tolist()
    assert 42 in zoomed["ids"]
    np.testing.assert_array_equal(zoomed["x"], xy[zoomed["ids"], 0])

    # A window holding more than the cap: CAP points, the first of the order inside it.
    lo, hi = np.percentile(xy, 10, axis=0), np.percentile(xy, 90, axis=0)
    wide = (xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1])
    assert wide.sum() > CAP
    half = relayout(explorer, {"xaxis.range": [lo[0], hi[0]], "yaxis.range": [lo[1], hi[1]]})
    assert half["ids"] == sorted([int(i) for i in order if wide[i]][:CAP])

    # Hovering a drawn point shows that item, not the item numbered by its trace index.
    target = next(i for k, i in enumerate(half["ids"]) if k != i)
    spot = explorer.js(ITEM_SPOT, target)
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_selector("#tooltip:not([hidden])")
    assert explorer.js("() => document.querySelector('#tooltip dd').textContent") == str(target)
    # its name is not in the binary points: it is fetched for the card
    page.wait_for_function(
        "(name) => document.querySelector('#tooltip dl').textContent.includes(name)",
        arg=str(index.item_names[target]),
    )

    # Back to the whole map: the overview sample again.
    assert (
        relayout(explorer, {"xaxis.autorange": True, "yaxis.autorange": True})["ids"]
        == (overview["ids"])
    )


def test_a_box_on_a_sampled_map_selects_undrawn_points_too(
    explorer: Explorer, index: LatentIndex
) -> None:
    explorer.open()
    page = explorer.page
    explorer.js("(cap) => window.latentExplorer.map.setDrawCap(cap)", CAP)
    page.wait_for_function(f"() => document.getElementById('map').dataset.drawn === '{CAP}'")
    page.locator("#tool-group label", has_text="Box").click()
    plot = explorer.js(PLOT_BOX)
    box = {
        "x0": plot["x"] + 0.3 * plot["w"],
        "x1": plot["x"] + 0.7 * plot["w"],
        "y0": plot["y"] + 0.3 * plot["h"],
        "y1": plot["y"] + 0.7 * plot["h"],
    }
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=4)
    page.mouse.move(box["x1"], box["y1"], steps=4)
    page.mouse.up()
    page.wait_for_function("() => window.latentExplorer.state.selection.length > 0")
    selection = explorer.js("() => window.latentExplorer.state.selection")
    corners = explorer.js(
        "(b) => [window.latentExplorer.map.toData(b.x0, b.y0),"
        " window.latentExplorer.map.toData(b.x1, b.y1)]",
        box,
    )
    xy = index.projections["umap"].embedding_.astype(np.float64)
    (ax, ay), (bx, by) = corners
    # One pixel of slack at the box's edges, in data units: a point within a pixel of an edge
    # may fall either way (the page converts the box's pixels itself).
    px = abs(bx - ax) / (box["x1"] - box["x0"])
    py = abs(by - ay) / (box["y1"] - box["y0"])

    def in_box(grow: float) -> np.ndarray:
        return (
            (xy[:, 0] >= min(ax, bx) - grow * px)
            & (xy[:, 0] <= max(ax, bx) + grow * px)
            & (xy[:, 1] >= min(ay, by) - grow * py)
            & (xy[:, 1] <= max(ay, by) + grow * py)
        )

    drawn_ids = set(drawn(explorer)["ids"])
    undrawn = [i for i in selection if i not in drawn_ids]
    assert undrawn, "the selection holds only drawn points"
    # every point in the box, drawn or not, and nothing outside it
    surely_inside = set(np.flatnonzero(in_box(-1.0)).tolist())
    at_most = set(np.flatnonzero(in_box(1.0)).tolist())
    assert surely_inside <= set(selection) <= at_most
    assert len(surely_inside) > 100
    assert page.inner_text("#selection-count").startswith(f"{len(selection)} point")

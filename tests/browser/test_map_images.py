"""Images on the map: thumbnails in place of dots once fewer than 300 items are in view, and
the exemplar layer (one item per dense cell of the view), driven as the map tests drive the
view (Plotly.relayout, as a zoom would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import Explorer, new_explorer
from tests.browser.helpers import wait_for_map, wait_for_title
from tests.conftest import SHAPES_MODEL
from tests.serverproc import get_json, running_server

LIMIT = 300  # static/js/map-images.js THUMB_LIMIT

# The points, the view and the plot area, read from the page (positions as the map has them).
VIEW = """() => {
  const { loaded, map } = window.latentExplorer;
  const { range, area } = map.frame();
  return { x: Array.from(loaded.points.x), y: Array.from(loaded.points.y), range, area };
}"""

# The layout images Plotly drew: [x, y, source] from the layout, and the SVG elements.
DRAWN = """() => {
  const gd = document.getElementById("map");
  return {
    layout: (gd.layout.images || []).map((im) => [im.x, im.y, im.source]),
    elements: gd.querySelectorAll(".layer-above .imagelayer image").length,
  };
}"""


def zoom(explorer: Explorer, x: list[float], y: list[float]) -> None:
    explorer.js(
        "([x, y]) => Plotly.relayout(document.getElementById('map'),"
        " {'xaxis.range': x, 'yaxis.range': y})",
        [x, y],
    )


def in_view(view: dict[str, Any], x: list[float], y: list[float]) -> np.ndarray:
    px, py = np.asarray(view["x"]), np.asarray(view["y"])
    inside = (px >= min(x)) & (px <= max(x)) & (py >= min(y)) & (py <= max(y))
    return np.flatnonzero(inside)


def zoom_below_limit(explorer: Explorer, around: int, below: int = LIMIT) -> np.ndarray:
    """Zoom on item `around`, halving the view until fewer than `below` items are in it; the
    ids in view (computed here from the positions)."""
    view = explorer.js(VIEW)
    cx, cy = view["x"][around], view["y"][around]
    wx = abs(view["range"]["x"][1] - view["range"]["x"][0]) / 2
    wy = abs(view["range"]["y"][1] - view["range"]["y"][0]) / 2
    while True:
        x, y = [cx - wx, cx + wx], [cy - wy, cy + wy]
        ids = in_view(view, x, y)
        if len(ids) < below:
            break
        wx, wy = wx / 2, wy / 2
    zoom(explorer, x, y)
    return ids


def test_thumbnails_replace_dots_past_the_zoom_threshold(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    wait_for_map(page, "thumbnails", "0")
    assert explorer.js(DRAWN) == {"layout": [], "elements": 0}  # 1,797 items in view: dots
    ids = zoom_below_limit(explorer, 42)
    assert 42 in ids and 10 <= len(ids) < LIMIT
    wait_for_map(page, "thumbnails", str(len(ids)))
    drawn = explorer.js(DRAWN)
    assert drawn["elements"] == len(ids)  # one <image> per item in view
    view = explorer.js(VIEW)
    at = {(round(x, 4), round(y, 4)) for x, y, _ in drawn["layout"]}
    assert at == {(round(view["x"][i], 4), round(view["y"][i], 4)) for i in ids}
    assert all(source.startswith("data:image/png;base64,") for _, _, source in drawn["layout"])
    assert len({source for _, _, source in drawn["layout"]}) > len(ids) // 2  # not one image
    # The points are still underneath, every one of them, for hovers, clicks and selections.
    assert explorer.js("() => document.getElementById('map').data[0].x.length") == 1797
    requests = [url for url in explorer.log.requests if "/thumbnails?ids=" in url]
    assert len(requests) == 1  # all of them in one request
    explorer.screenshot("map-thumbnails-1280x800")
    explorer.js("() => window.latentExplorer.map.resetView()")
    wait_for_map(page, "thumbnails", "0")
    assert explorer.js(DRAWN) == {"layout": [], "elements": 0}


# An item in view whose nearest drawn neighbour is far on screen, and a point on its thumbnail
# off its centre (farther than a dot's 5 px reach, nearer to it than to any other item).
OFF_CENTRE = """(ids) => {
  const { loaded, map } = window.latentExplorer;
  const rect = document.getElementById("map").getBoundingClientRect();
  const px = ids.map((id) => map.toPixel(loaded.points.x[id], loaded.points.y[id]));
  const side = 2 * map.reach;
  let best = null;
  ids.forEach((id, i) => {
    if (!px[i]) return;
    let d = Infinity;
    ids.forEach((_, j) => {
      if (j !== i && px[j]) d = Math.min(d, Math.hypot(px[i][0] - px[j][0], px[i][1] - px[j][1]));
    });
    if (!best || d > best.d) best = { id, d, x: px[i][0], y: px[i][1] };
  });
  const off = Math.min(0.4 * side, 0.45 * best.d);
  const at = { x: rect.left + best.x + off * 0.7, y: rect.top + best.y + off * 0.7 };
  return { id: best.id, off, side, ...at };
}"""


def test_clicking_a_thumbnail_decodes_its_item(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    ids = zoom_below_limit(explorer, 900)
    wait_for_map(page, "thumbnails", str(len(ids)))
    spot = explorer.js(OFF_CENTRE, ids.tolist())
    assert spot["side"] >= 18 and spot["off"] * 0.7 * np.sqrt(2) > 5  # past a dot's reach
    # Hovering there shows that item's card, and a click there decodes that item.
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_selector("#tooltip:not([hidden]) img")
    assert f"/items/{spot['id']}/thumbnail" in (page.get_attribute("#tooltip img", "src") or "")
    page.mouse.click(spot["x"], spot["y"])
    wait_for_title(page, f"item #{spot['id']} ")


IMAGE_LAYER_SHOWN = """() => {
  const layer = document.querySelector("#map .layer-above .imagelayer");
  return getComputedStyle(layer).display !== "none";
}"""


def test_the_thumbnails_step_aside_while_the_wheel_zooms(explorer: Explorer) -> None:
    # Plotly redraws every layout image on each wheel step (the bench measured 2.2x the time
    # per frame): the image layer hides while the wheel turns and comes back after it.
    explorer.open()
    page = explorer.page
    # Well under the limit: a wheel step out (about 1.5x the area) must not cross it, or the
    # page rightly draws dots there.
    ids = zoom_below_limit(explorer, 42, below=LIMIT // 4)
    wait_for_map(page, "thumbnails", str(len(ids)))
    assert explorer.js(IMAGE_LAYER_SHOWN)
    box = page.locator("#map .nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hidden_during = []
    for step in range(6):  # in and out in turn, 30 ms apart: the view stays under the limit
        page.mouse.wheel(0, 40 if step % 2 else -40)
        page.wait_for_timeout(30)
        hidden_during.append(not explorer.js(IMAGE_LAYER_SHOWN))
    assert all(hidden_during)
    page.wait_for_function(f"({IMAGE_LAYER_SHOWN})")  # back, 150 ms after the last step
    # Redrawn for the view the wheel left (its last draw may still be on the way).
    view = explorer.js(VIEW)
    in_view_now = len(in_view(view, view["range"]["x"], view["range"]["y"]))
    assert 0 < in_view_now < LIMIT
    wait_for_map(page, "thumbnails", str(in_view_now))
    page.wait_for_function(
        "(n) => document.querySelectorAll('#map .layer-above .imagelayer image').length === n",
        arg=in_view_now,
    )


def expected_exemplars(view: dict[str, Any], cell: float = 110.0) -> set[int]:
    """The exemplar layer recomputed by brute force: the view cut into cells of about `cell`
    px; in each cell with at least max(5, 0.3 % of the view's items) items, the item nearest
    the mean of their positions."""
    x, y = np.asarray(view["x"]), np.asarray(view["y"])
    rx, ry, area = view["range"]["x"], view["range"]["y"], view["area"]
    cols, rows = max(1, round(area["w"] / cell)), max(1, round(area["h"] / cell))
    ids = in_view(view, rx, ry)
    fx = (x[ids] - min(rx)) / (max(rx) - min(rx))
    fy = (y[ids] - min(ry)) / (max(ry) - min(ry))
    cells = np.minimum(rows - 1, np.floor(fy * rows)) * cols + np.minimum(
        cols - 1, np.floor(fx * cols)
    )
    out = set()
    for c in np.unique(cells):
        members = ids[cells == c]
        if len(members) < max(5, 0.003 * len(ids)):
            continue
        d = (x[members] - x[members].mean()) ** 2 + (y[members] - y[members].mean()) ** 2
        out.add(int(members[np.argmin(d)]))
    return out


def test_the_exemplar_toggle_draws_one_item_per_dense_cell(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    assert page.is_visible("#exemplars-toggle") and not page.is_checked("#exemplars-toggle")
    page.check("#exemplars-toggle")
    page.wait_for_function("() => Number(document.getElementById('map').dataset.exemplars) > 0")
    view = explorer.js(VIEW)
    expected = expected_exemplars(view)
    drawn = explorer.js(DRAWN)
    assert int(page.get_attribute("#map", "data-exemplars") or 0) == len(expected)
    assert drawn["elements"] == len(expected) >= 8
    at = {(round(x, 4), round(y, 4)) for x, y, _ in drawn["layout"]}
    assert at == {(round(view["x"][i], 4), round(view["y"][i], 4)) for i in expected}
    explorer.screenshot("map-exemplars-1280x800")
    # Redrawn for a new view: a zoom on the left half of the map picks that half's exemplars.
    rx, ry = view["range"]["x"], view["range"]["y"]
    before = page.get_attribute("#map", "data-image-draws")
    half = [rx[0], (rx[0] + rx[1]) / 2]
    assert len(in_view(view, half, ry)) > LIMIT  # still exemplars, not thumbnails
    zoom(explorer, half, ry)
    page.wait_for_function(
        "(n) => document.getElementById('map').dataset.imageDraws !== n", arg=before
    )
    zoomed = explorer.js(VIEW)
    assert int(page.get_attribute("#map", "data-exemplars") or 0) == len(expected_exemplars(zoomed))
    page.uncheck("#exemplars-toggle")
    wait_for_map(page, "exemplars", "0")
    assert explorer.js(DRAWN)["elements"] == 0


@pytest.fixture(scope="module")
def shapes_site(shapes_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on the shapes autoencoder's workspace."""
    with running_server(shapes_workspace, tmp_path_factory.mktemp("shapes-server")) as server:
        yield server.base


def test_shapes_thumbnails_are_each_items_own_image(context: Any, shapes_site: str) -> None:
    for explorer in new_explorer(context, shapes_site, 1280, 800):
        explorer.open()
        page = explorer.page
        assert page.input_value("#model-select") == SHAPES_MODEL
        ids = zoom_below_limit(explorer, 0)
        wait_for_map(page, "thumbnails", str(len(ids)))
        drawn = explorer.js(DRAWN)
        assert drawn["elements"] == len(ids)
        view = explorer.js(VIEW)
        where = {(round(view["x"][i], 4), round(view["y"][i], 4)): int(i) for i in ids}
        listed = ",".join(str(i) for i in ids)
        answer = get_json(f"{shapes_site}/api/models/{SHAPES_MODEL}/thumbnails?ids={listed}")
        own = dict(zip(answer["ids"], answer["images"], strict=True))
        # every picture is drawn at its own item's place (positions here are distinct items)
        for x, y, source in drawn["layout"]:
            item = where.get((round(x, 4), round(y, 4)))
            assert item is not None and source == own[item]
        explorer.screenshot("map-thumbnails-shapes-1280x800")

"""The compare page in a real browser: two models of the same digits side by side, a box
selected in one map lights up the same item ids in the other, and the figures table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.index.projection import PROJECTIONS
from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer, new_explorer
from tests.compare_workspace import EMBEDDINGS, VAE, build_compare_workspace
from tests.serverproc import get_json, running_server

# The item ids highlighted in one map: its trace's selectedpoints through its drawn ids.
HIGHLIGHTED = """(side) => {
  const map = window.latentCompare.maps[side];
  const points = map.gd.data[0].selectedpoints;
  return points ? Array.from(points, (i) => map.drawn[i]).sort((p, q) => p - q) : null;
}"""

# The middle third of a map's plot area, in client pixels, and that box in data units.
MIDDLE_BOX = """(side) => {
  const gd = window.latentCompare.maps[side].gd;
  const rect = gd.getBoundingClientRect();
  const { l, t, w, h } = gd._fullLayout._size;
  const [x0, x1] = gd._fullLayout.xaxis.range;
  const [y0, y1] = gd._fullLayout.yaxis.range;
  const px = [l + w / 3, l + (2 * w) / 3];
  const py = [t + h / 3, t + (2 * h) / 3];
  return {
    client: { x0: rect.left + px[0], x1: rect.left + px[1],
              y0: rect.top + py[0], y1: rect.top + py[1] },
    data: { x: px.map((p) => x0 + ((p - l) / w) * (x1 - x0)),
            y: py.map((p) => y1 - ((p - t) / h) * (y1 - y0)) },
  };
}"""


@pytest.fixture(scope="module")
def compare_server(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = build_compare_workspace(tmp_path_factory.mktemp("compare"), workspace, other=False)
    # Topology on fewer landmarks than the default keeps the compare-topology test to seconds.
    env = {"LATENT_EXPLORER_TOPOLOGY_MAX_POINTS": "600"}
    with running_server(root, tmp_path_factory.mktemp("compare-server"), env=env) as process:
        yield process.base


@pytest.fixture
def page_on(context: Any, compare_server: str) -> Iterator[Explorer]:
    yield from new_explorer(context, compare_server, 1280, 800)


def open_compare(explorer: Explorer) -> None:
    page = explorer.page
    page.goto(f"{explorer.base}/compare?a={VAE}&b={EMBEDDINGS}")
    page.wait_for_selector("body[data-ready='true']", timeout=30_000)
    page.wait_for_selector("#map-a[data-ready='true']")
    page.wait_for_selector("#map-b[data-ready='true']")


def test_a_box_in_one_map_highlights_the_same_items_in_the_other(
    page_on: Explorer, compare_server: str
) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    assert explorer.js("() => window.latentCompare.maps.a.drawn.length") == 1797
    box = explorer.js(MIDDLE_BOX, "a")
    c = box["client"]
    page.mouse.move(c["x0"], c["y0"])
    page.mouse.down()
    page.mouse.move((c["x0"] + c["x1"]) / 2, (c["y0"] + c["y1"]) / 2, steps=4)
    page.mouse.move(c["x1"], c["y1"], steps=4)
    page.mouse.up()
    page.wait_for_function("() => Number(document.body.dataset.highlighted) > 0")
    page.wait_for_function(f"() => ({HIGHLIGHTED})('b') !== null")
    highlighted = explorer.js("() => window.latentCompare.view.highlighted")
    # The items inside the box Plotly drew on A's map, from the API's positions.
    points = get_json(f"{compare_server}/api/models/{VAE}/points?projection=umap")
    x, y = np.asarray(points["x"]), np.asarray(points["y"])
    drawn = explorer.js("() => window.latentCompare.maps.a.lastRange")
    (x0, x1), (y0, y1) = sorted(drawn["x"]), sorted(drawn["y"])
    inside = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).tolist()
    # (the JSON positions are rounded to 5 decimals: an item on the edge could differ)
    assert len(inside) > 10 and len(set(highlighted) ^ set(inside)) <= 1
    # and that box is the one dragged, to within a pixel
    assert np.allclose([x0, x1], box["data"]["x"], atol=(x1 - x0) / 100)
    assert np.allclose([y0, y1], sorted(box["data"]["y"]), atol=(y1 - y0) / 100)
    assert explorer.js(HIGHLIGHTED, "b") == highlighted  # the same ids, in the other map
    assert page.inner_text("#compare-info").startswith(f"{len(highlighted)} items highlighted")
    explorer.screenshot("compare-box")
    # Clearing removes the highlight from both maps.
    page.click("#clear-highlight")
    page.wait_for_function(f"() => ({HIGHLIGHTED})('b') === null")


def test_clicking_a_point_highlights_it_in_both_maps(page_on: Explorer) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    item = 42
    spot = explorer.js(
        "(id) => { const map = window.latentCompare.maps.b; const gd = map.gd;"
        " const rect = gd.getBoundingClientRect(); const { l, t, w, h } = gd._fullLayout._size;"
        " const [x0, x1] = gd._fullLayout.xaxis.range; const [y0, y1] = gd._fullLayout.yaxis.range;"
        " const x = map.points.x[id], y = map.points.y[id];"
        " return { x: rect.left + l + ((x - x0) / (x1 - x0)) * w,"
        "          y: rect.top + t + ((y1 - y) / (y1 - y0)) * h }; }",
        item,
    )
    page.mouse.move(spot["x"], spot["y"])
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_function(f"() => ({HIGHLIGHTED})('a') !== null")
    clicked = explorer.js(HIGHLIGHTED, "a")
    assert len(clicked) == 1 and explorer.js(HIGHLIGHTED, "b") == clicked
    # the item under the pointer: 42, or one drawn on the same spot
    xy = explorer.js(
        "(ids) => { const p = window.latentCompare.maps.b.points;"
        " return ids.map((id) => [p.x[id], p.y[id]]); }",
        [clicked[0], item],
    )
    assert np.hypot(*np.subtract(*xy)) < 0.3


def test_the_table_shows_both_models_figures(page_on: Explorer, compare_server: str) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    quality = {m["name"]: m["quality"] for m in get_json(f"{compare_server}/api/models")["models"]}
    qa, qb = quality[VAE], quality[EMBEDDINGS]
    rows = explorer.js(
        "() => Array.from(document.querySelectorAll('#figures tbody tr'), (tr) =>"
        " [tr.dataset.key, ...Array.from(tr.children, (c) => c.textContent)])"
    )
    table = {key: (label, a, b) for key, label, a, b in rows}
    assert table["reconstruction_mse"][1:] == (f"{qa['reconstruction_mse']:.4f}", "n/a")
    assert table["knn_accuracy"][1:] == (
        f"{100 * qa['knn_accuracy']:.1f}%",
        f"{100 * qb['knn_accuracy']:.1f}%",
    )
    for key in ("trustworthiness", "faithfulness"):
        for projection in ("pca", "umap"):
            label, a, b = table[f"{key}.{projection}"]
            assert PROJECTIONS[projection].label in label
            assert (a, b) == (f"{qa[key][projection]:.3f}", f"{qb[key][projection]:.3f}")
    assert page.inner_text("#head-a") == f"A: {VAE}"
    assert page.inner_text("#head-b") == f"B: {EMBEDDINGS}"


def test_the_compare_page_passes_axe(page_on: Explorer) -> None:
    open_compare(page_on)
    assert_accessible(page_on.page, "the compare page")


def test_the_main_page_links_to_the_comparison(page_on: Explorer) -> None:
    page = page_on.page
    page_on.open(f"?model={VAE}")
    page.wait_for_selector("#compare-link:not([hidden])")
    assert page.get_attribute("#compare-link", "href") == f"/compare?a={VAE}&b={EMBEDDINGS}"
    page.click("#compare-link")
    page.wait_for_selector("#map-b[data-ready='true']", timeout=30_000)
    assert page.input_value("#model-a") == VAE and page.input_value("#model-b") == EMBEDDINGS


def test_compare_topology_shows_both_barcodes_and_the_distances(page_on: Explorer) -> None:
    open_compare(page_on)
    page = page_on.page
    assert page.is_hidden("#topology-result")
    page.click("#topology-run")
    page.wait_for_selector(f"#compare-topology[data-pair='{VAE}|{EMBEDDINGS}']", timeout=120_000)
    expected = get_json(f"{page_on.base}/api/compare/topology?a={VAE}&b={EMBEDDINGS}")
    for kind in ("bottleneck", "wasserstein"):
        cells = page.eval_on_selector_all(
            f"#topology-distances tr[data-kind='{kind}'] td",
            "tds => tds.map((td) => td.textContent)",
        )
        assert cells == [f"{expected['h0'][kind]:.3f}", f"{expected['h1'][kind]:.3f}"]
    assert expected["h0"]["bottleneck"] > 0  # two different models: different diagrams
    for side, model in (("a", VAE), ("b", EMBEDDINGS)):
        topo = get_json(f"{page_on.base}/api/models/{model}/topology")
        bars = page_on.js(
            f"() => document.getElementById('barcode-{side}').data.map((t) => t.x.length)"
        )
        assert bars == [min(50, len(topo["h0"])), min(50, len(topo["h1"]))]
    page_on.screenshot("compare-topology")

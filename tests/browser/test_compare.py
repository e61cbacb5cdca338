"""The compare page in a real browser: three models of the same digits in a grid, a box or a
click in one map lights up the same item ids in every map, the figures table (one row per
model), alignment onto the reference map, and what changed in the latent neighbourhoods. A
fourth model on other items (``OTHER``) is loaded too: a link naming it leaves it out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.index.projection import PROJECTIONS
from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer, new_explorer
from tests.compare_workspace import EMBEDDINGS, OTHER, TWIN, VAE, build_compare_workspace
from tests.serverproc import get_json, running_server

MODELS = (VAE, EMBEDDINGS, TWIN)  # the reference first

# The item ids highlighted in one map: its trace's selectedpoints through its drawn ids.
HIGHLIGHTED = """(model) => {
  const map = window.latentCompare.maps[model];
  const points = map.gd.data[0].selectedpoints;
  return points ? Array.from(points, (i) => map.drawn[i]).sort((p, q) => p - q) : null;
}"""

# The middle third of a map's plot area, in client pixels, and that box in data units.
MIDDLE_BOX = """(model) => {
  const gd = window.latentCompare.maps[model].gd;
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
    root = build_compare_workspace(tmp_path_factory.mktemp("compare"), workspace, twin=True)
    # Topology on fewer landmarks than the default keeps the compare-topology test to seconds.
    env = {"LATENT_EXPLORER_TOPOLOGY_MAX_POINTS": "600"}
    with running_server(root, tmp_path_factory.mktemp("compare-server"), env=env) as process:
        yield process.base


@pytest.fixture
def page_on(context: Any, compare_server: str) -> Iterator[Explorer]:
    yield from new_explorer(context, compare_server, 1280, 800)


def open_compare(explorer: Explorer, query: str = f"models={','.join(MODELS)}") -> None:
    page = explorer.page
    page.goto(f"{explorer.base}/compare?{query}")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    n = explorer.js("() => Object.keys(window.latentCompare.maps).length")
    for i in range(n):
        page.wait_for_selector(f"#map-{i}[data-ready='true']")


def test_three_models_in_the_grid_and_a_box_lights_up_in_every_map(
    page_on: Explorer, compare_server: str
) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    assert explorer.js("() => Object.keys(window.latentCompare.maps)") == list(MODELS)
    assert page.eval_on_selector_all(
        "#compare-grid .compare-map", "cards => cards.map((c) => c.dataset.model)"
    ) == list(MODELS)
    assert "reference" in page.inner_text("#map-title-0")
    for model in MODELS:
        assert explorer.js(f"() => window.latentCompare.maps['{model}'].drawn.length") == 1797
    box = explorer.js(MIDDLE_BOX, VAE)
    c = box["client"]
    page.mouse.move(c["x0"], c["y0"])
    page.mouse.down()
    page.mouse.move((c["x0"] + c["x1"]) / 2, (c["y0"] + c["y1"]) / 2, steps=4)
    page.mouse.move(c["x1"], c["y1"], steps=4)
    page.mouse.up()
    page.wait_for_function("() => Number(document.body.dataset.highlighted) > 0")
    for model in MODELS[1:]:
        page.wait_for_function(f"() => ({HIGHLIGHTED})('{model}') !== null")
    highlighted = explorer.js("() => window.latentCompare.view.highlighted")
    # The items inside the box Plotly drew on the reference map, from the API's positions.
    points = get_json(f"{compare_server}/api/models/{VAE}/points?projection=umap")
    x, y = np.asarray(points["x"]), np.asarray(points["y"])
    drawn = explorer.js(f"() => window.latentCompare.maps['{VAE}'].lastRange")
    (x0, x1), (y0, y1) = sorted(drawn["x"]), sorted(drawn["y"])
    inside = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).tolist()
    # (the JSON positions are rounded to 5 decimals: an item on the edge could differ)
    assert len(inside) > 10 and len(set(highlighted) ^ set(inside)) <= 1
    # and that box is the one dragged, to within a pixel
    assert np.allclose([x0, x1], box["data"]["x"], atol=(x1 - x0) / 100)
    assert np.allclose([y0, y1], sorted(box["data"]["y"]), atol=(y1 - y0) / 100)
    for model in MODELS[1:]:  # the same ids, in every other map
        assert explorer.js(HIGHLIGHTED, model) == highlighted
    assert page.inner_text("#compare-info").startswith(f"{len(highlighted)} items highlighted")
    explorer.screenshot("compare-box")
    # Clearing removes the highlight from every map.
    page.click("#clear-highlight")
    for model in MODELS:
        page.wait_for_function(f"() => ({HIGHLIGHTED})('{model}') === null")


# Where an item is drawn on a model's map, in client pixels.
SPOT = """([model, id]) => { const map = window.latentCompare.maps[model]; const gd = map.gd;
  const rect = gd.getBoundingClientRect(); const { l, t, w, h } = gd._fullLayout._size;
  const [x0, x1] = gd._fullLayout.xaxis.range; const [y0, y1] = gd._fullLayout.yaxis.range;
  const x = map.points.x[id], y = map.points.y[id];
  return { x: rect.left + l + ((x - x0) / (x1 - x0)) * w,
           y: rect.top + t + ((y1 - y) / (y1 - y0)) * h }; }"""

# The ring overlay of a map (the item hovered in another map): its plotted positions.
RING = """(model) => { const d = window.latentCompare.maps[model].gd.data[1];
  return Array.from(d.x || [], (x, i) => [x, d.y[i]]); }"""


def test_hovering_and_clicking_a_point_light_it_up_in_every_map(page_on: Explorer) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    item = 42
    spot = explorer.js(SPOT, [EMBEDDINGS, item])
    page.mouse.move(spot["x"], spot["y"])
    # hovering rings the item under the pointer in the other maps, where each draws it
    page.wait_for_function(f"() => ({RING})('{VAE}').length === 1")
    assert explorer.js(RING, EMBEDDINGS) == []  # not in the map being hovered
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_function(f"() => ({HIGHLIGHTED})('{VAE}') !== null")
    clicked = explorer.js(HIGHLIGHTED, EMBEDDINGS)
    assert len(clicked) == 1
    for model in MODELS:
        assert explorer.js(HIGHLIGHTED, model) == clicked
    # the item under the pointer: 42, or one drawn on the same spot
    xy = explorer.js(
        f"(ids) => {{ const p = window.latentCompare.maps['{EMBEDDINGS}'].points;"
        " return ids.map((id) => [p.x[id], p.y[id]]); }",
        [clicked[0], item],
    )
    assert np.hypot(*np.subtract(*xy)) < 0.3
    for model in (VAE, TWIN):  # the ring sat on the hovered item's own place in each map
        place = explorer.js(
            f"(id) => {{ const p = window.latentCompare.maps['{model}'].points;"
            " return [p.x[id], p.y[id]]; }",
            clicked[0],
        )
        assert np.allclose(explorer.js(RING, model)[0], place, atol=1e-6)


def test_the_table_has_one_row_per_model(page_on: Explorer, compare_server: str) -> None:
    explorer = page_on
    open_compare(explorer)
    quality = {m["name"]: m["quality"] for m in get_json(f"{compare_server}/api/models")["models"]}
    rows = explorer.js(
        "() => Array.from(document.querySelectorAll('#figures tbody tr'), (tr) =>"
        " [tr.dataset.model, Object.fromEntries(Array.from(tr.querySelectorAll('td'),"
        " (td) => [td.dataset.key, td.textContent]))])"
    )
    assert [model for model, _ in rows] == list(MODELS)
    heads = explorer.js(
        "() => Object.fromEntries(Array.from("
        " document.querySelectorAll('#figures thead th[data-key]'),"
        " (th) => [th.dataset.key, th.textContent]))"
    )
    for model, cells in rows:
        q = quality[model]
        expected_mse = "n/a" if model == EMBEDDINGS else f"{q['reconstruction_mse']:.4f}"
        assert cells["reconstruction_mse"] == expected_mse
        assert cells["knn_accuracy"] == f"{100 * q['knn_accuracy']:.1f}%"
        for key in ("trustworthiness", "faithfulness"):
            for projection in ("pca", "umap"):
                assert PROJECTIONS[projection].label in heads[f"{key}.{projection}"]
                assert cells[f"{key}.{projection}"] == f"{q[key][projection]:.3f}"
    assert explorer.page.inner_text("#figures tbody tr:first-child th") == f"{VAE} (reference)"


def test_the_compare_page_passes_axe(page_on: Explorer) -> None:
    open_compare(page_on)
    page_on.page.wait_for_selector(f"#compare-changed[data-pair='{VAE}|{EMBEDDINGS}']")
    assert_accessible(page_on.page, "the compare page")


def test_a_model_on_other_items_is_left_out_and_a_lone_reference_says_what_to_do(
    page_on: Explorer, compare_server: str
) -> None:
    explorer, page = page_on, page_on.page
    partner = get_json(f"{compare_server}/api/models/{VAE}/comparable")["comparable"][0]
    open_compare(explorer, f"models={VAE},{OTHER}")
    assert explorer.js("() => window.latentCompare.view.models") == [VAE, partner]
    assert page.is_visible("#compare-layout") and page.is_hidden("#compare-error")
    toast = page.locator("#toast")
    toast.wait_for(state="visible")
    assert f"{OTHER} is on other items than {VAE}: left out" in toast.inner_text()
    assert f"models={VAE}%2C{partner}" in page.url
    # OTHER as the reference has no partner: the page says so and keeps the way back open.
    open_compare(explorer, f"models={OTHER},{VAE}")
    needs = page.locator("#compare-needs")
    assert needs.is_visible() and f"No other loaded model is on the items of {OTHER}" in (
        needs.inner_text()
    )
    assert page.is_hidden("#compare-layout") and page.is_hidden("#compare-error")
    options = page.eval_on_selector_all("#reference-select option", "os => os.map((o) => o.value)")
    assert options[0] == OTHER and set(options) == {VAE, EMBEDDINGS, TWIN, OTHER}
    page.select_option("#reference-select", VAE)
    page.wait_for_function(f"() => window.latentCompare.view.models.join() === '{VAE},{partner}'")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    page.wait_for_selector("#map-1[data-ready='true']", timeout=30_000)
    assert page.is_visible("#compare-layout") and page.is_hidden("#compare-needs")
    explorer.screenshot("compare-left-out")


def test_the_main_page_links_to_the_comparison_and_the_old_link_still_opens(
    page_on: Explorer,
) -> None:
    page = page_on.page
    page_on.open(f"?model={VAE}")
    page.wait_for_selector("#compare-link:not([hidden])")
    assert page.get_attribute("#compare-link", "href") == f"/compare?a={VAE}&b={EMBEDDINGS}"
    page.click("#compare-link")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    page.wait_for_selector("#map-1[data-ready='true']", timeout=30_000)
    assert page_on.js("() => window.latentCompare.view.models") == [VAE, EMBEDDINGS]
    assert page.input_value("#reference-select") == VAE
    # the link it now shows is the new form
    assert f"models={VAE}%2C{EMBEDDINGS}" in page.url or f"models={VAE},{EMBEDDINGS}" in page.url
    # the picker adds the third model, and takes one off again
    assert page.input_value("#add-model") == TWIN
    page.click("#add-model-button")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    page.wait_for_selector("#map-2[data-ready='true']", timeout=30_000)
    assert page_on.js("() => window.latentCompare.view.models") == list(MODELS)
    page.click(f".compare-map[data-model='{EMBEDDINGS}'] .remove-model")
    page.wait_for_function(f"() => window.latentCompare.view.models.join() === '{VAE},{TWIN}'")
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    assert page_on.js("() => Object.keys(window.latentCompare.maps)") == [VAE, TWIN]
    assert page.is_disabled(f".compare-map[data-model='{TWIN}'] .remove-model")


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


# Each drawn item's plotted position on a map, by item id.
PLOTTED = """(model) => { const map = window.latentCompare.maps[model];
  const d = map.gd.data[0]; const out = {};
  Array.from(map.drawn).forEach((id, i) => (out[id] = [d.x[i], d.y[i]]));
  return out; }"""


def plotted(explorer: Explorer, model: str) -> np.ndarray:
    """(1797, 2) the positions plotted on ``model``'s map, in id order."""
    found = explorer.js(PLOTTED, model)
    return np.array([found[str(i)] for i in range(1797)], dtype=np.float64)


def test_aligning_moves_the_maps_onto_the_reference(page_on: Explorer) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    reference = plotted(explorer, VAE)
    own = {m: plotted(explorer, m) for m in MODELS}
    before = {m: np.linalg.norm(own[m] - reference, axis=1).mean() for m in MODELS}
    assert before[TWIN] > 1.0  # the turned twin lies elsewhere
    page.check("#align-toggle")
    page.wait_for_selector("body[data-aligned='true']")
    shown = {m: plotted(explorer, m) for m in MODELS}
    after = {m: np.linalg.norm(shown[m] - reference, axis=1).mean() for m in MODELS}
    assert after[VAE] == 0.0  # the reference stays
    assert after[TWIN] < 1e-4  # the twin lands on it: the same items in the same place
    # Another model moves onto the reference's centre and spread, and turning it there brings
    # its items closer to their reference places than only moving and scaling it would.
    centre, x0 = reference.mean(0), reference - reference.mean(0)
    y0 = own[EMBEDDINGS] - own[EMBEDDINGS].mean(0)
    unturned = np.sqrt(np.sum(x0**2) / np.sum(y0**2)) * y0 + centre
    aligned = shown[EMBEDDINGS]
    assert np.allclose(aligned.mean(0), centre, atol=1e-3)
    assert np.sum((aligned - reference) ** 2) < 0.95 * np.sum((unturned - reference) ** 2)
    assert "align=1" in page.url
    # every map shows the same ranges, so that a place means the same on each
    ranges = explorer.js("() => Object.values(window.latentCompare.maps).map((m) => m.viewRange())")
    assert all(
        np.allclose(r["x"], ranges[0]["x"]) and np.allclose(r["y"], ranges[0]["y"]) for r in ranges
    )
    explorer.screenshot("compare-aligned")
    # the link reopens aligned
    page.goto(page.url)
    page.wait_for_selector("body[data-aligned='true']", timeout=60_000)
    assert page.is_checked("#align-toggle")
    assert np.linalg.norm(plotted(explorer, TWIN) - reference, axis=1).mean() < 1e-4


def test_what_changed_colours_and_lists_the_changed_items(
    page_on: Explorer, compare_server: str
) -> None:
    explorer, page = page_on, page_on.page
    open_compare(explorer)
    page.wait_for_selector(f"#compare-changed[data-pair='{VAE}|{EMBEDDINGS}']", timeout=60_000)
    answer = get_json(f"{compare_server}/api/compare/change?reference={VAE}&model={EMBEDDINGS}")
    ids = [
        int(b)
        for b in page.eval_on_selector_all(
            "#changed-list button", "bs => bs.map((b) => b.dataset.id)"
        )
    ]
    assert ids == [c["id"] for c in answer["most_changed"]] and len(ids) == 20
    # colouring by the change: each map's markers carry its change against the reference
    page.select_option("#colour-select", "__neighbourhood_change")
    page.wait_for_function(
        f"() => Array.isArray(window.latentCompare.maps['{TWIN}'].gd.data[0].marker.color)"
    )
    colours = explorer.js(
        "(model) => { const map = window.latentCompare.maps[model];"
        " return [Array.from(map.drawn), Array.from(map.gd.data[0].marker.color)]; }",
        EMBEDDINGS,
    )
    change = np.asarray(answer["change"])
    assert np.allclose(np.asarray(colours[1]), change[colours[0]], atol=1e-6)
    twin = explorer.js(
        f"() => Array.from(window.latentCompare.maps['{TWIN}'].gd.data[0].marker.color)"
    )
    assert set(twin) == {0}  # the same latents: no neighbourhood changed
    explorer.screenshot("compare-change")
    # pressing a listed item lights it up in every map
    page.click(f"#changed-list button[data-id='{ids[0]}']")
    for model in MODELS:
        page.wait_for_function(f"() => ({HIGHLIGHTED})('{model}')?.join() === '{ids[0]}'")

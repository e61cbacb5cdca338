"""The outliers card and the faithfulness colouring in a real browser, on the session's VAE."""

from __future__ import annotations

import numpy as np

from tests.browser.conftest import Explorer
from tests.browser.helpers import wait_for_count, wait_for_map, wait_for_title

# Item ids behind the points trace's Plotly selection (trace index -> id via the drawn ids).
SELECTED_IDS = """() => {
  const { map } = window.latentExplorer;
  const trace = document.getElementById("map").data[0];
  const drawn = map.drawnIds();
  return (trace.selectedpoints || []).map((i) => drawn[i]);
}"""


def test_pressing_an_outlier_selects_it_on_the_map(explorer: Explorer, model_name: str) -> None:
    explorer.open()
    page = explorer.page
    page.wait_for_selector(f"#outliers:not([hidden])[data-model='{model_name}']")
    wait_for_count(page, "#outlier-list button", 20)
    ids = page.eval_on_selector_all("#outlier-list button", "bs => bs.map((b) => +b.dataset.id)")
    # The worst reconstructed first: the order of the errors the map itself holds.
    errors = np.array(
        explorer.js("() => Array.from(window.latentExplorer.loaded.points.reconstruction_error)"),
        dtype=np.float32,
    )
    assert ids == np.argsort(-errors, kind="stable")[:20].tolist()
    shown = page.locator("#outlier-list button").nth(0).inner_text()
    assert f"#{ids[0]}" in shown and f"{errors[ids[0]]:.4f}" in shown
    page.wait_for_function("() => document.querySelector('#outlier-list img').naturalWidth > 0")
    # Pressing the third selects that one item, on the map and in the selection bar, and
    # shows it in the preview.
    pick = ids[2]
    page.locator("#outlier-list button").nth(2).click()
    page.wait_for_function(
        "(id) => { const s = window.latentExplorer.state.selection;"
        " return s.length === 1 && s[0] === id; }",
        arg=pick,
    )
    page.wait_for_function(f"() => ({SELECTED_IDS})().length === 1")
    assert explorer.js(SELECTED_IDS) == [pick]
    assert page.inner_text("#selection-count").startswith("1 point selected")
    assert page.get_attribute("#outlier-list button:nth-child(3)", "aria-pressed") == "true"
    wait_for_title(page, f"item #{pick}")
    explorer.screenshot("outliers")


def test_colouring_by_faithfulness_explains_the_scale(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    options = page.eval_on_selector_all("#colour-select option", "os => os.map((o) => o.value)")
    assert "faithfulness" in options
    assert "faithful 0." in page.inner_text("#model-info")
    page.select_option("#colour-select", "faithfulness")
    wait_for_map(page, "colour", "faithfulness")
    note = page.inner_text("#legend .legend-note")
    assert "10 nearest" in note and "tears" in note
    marker = explorer.js(
        "() => { const m = document.getElementById('map').data[0].marker;"
        " return { cmin: m.cmin, cmax: m.cmax, title: m.colorbar.title.text, n: m.color.length }; }"
    )
    assert marker == {"cmin": 0, "cmax": 1, "title": "faithfulness (k=10)", "n": 1797}
    # The trace's colours are the points' faithfulness on this projection, id by id.
    colours = {}
    for projection in ("umap", "pca"):
        if projection == "pca":
            page.locator("#projection-group label", has_text="PCA").click()
            wait_for_map(page, "projection", "pca")
        values, drawn, projected = explorer.js(
            "() => { const { loaded, map } = window.latentExplorer;"
            " return [document.getElementById('map').data[0].marker.color,"
            " Array.from(map.drawnIds()), loaded.points.projection]; }"
        )
        assert projected == projection
        column = explorer.js("() => Array.from(window.latentExplorer.loaded.points.faithfulness)")
        np.testing.assert_array_equal(values, np.asarray(column)[drawn])
        assert set(np.round(np.asarray(column) * 10, 4).tolist()) <= set(range(11))  # k=10
        colours[projection] = np.asarray(column)
    # UMAP keeps latent neighbourhoods better than PCA does (as trustworthiness says too)
    assert colours["umap"].mean() > colours["pca"].mean()
    assert page.inner_text("#legend .legend-note").startswith("Faithfulness")

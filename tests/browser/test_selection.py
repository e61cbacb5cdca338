"""The Selection card in a real browser: a box selection on the map, and the card's count and
label histogram against a brute-force count of the points inside the box."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.index.store import load_index
from app.workspace import INDEX_DIR
from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer, new_explorer
from tests.browser.test_panels import box_select
from tests.conftest import SHAPES_MODEL
from tests.serverproc import running_server

POINTS = """() => {
  const { loaded, map } = window.latentExplorer;
  return { x: Array.from(loaded.points.x), y: Array.from(loaded.points.y), range: map.lastRange };
}"""

# Each drawn point's opacity in the map's trace: faded where not selected, not hidden.
OPACITIES = """() => {
  const trace = document.getElementById("map")._fullData[0];
  return { selected: trace.selected.marker.opacity, unselected: trace.unselected.marker.opacity,
           drawn: trace.x.length };
}"""


def inside_box(explorer: Explorer) -> np.ndarray:
    """Brute force: the ids of the points (as the server sent them) inside the last box."""
    seen = explorer.js(POINTS)
    x, y = np.asarray(seen["x"], np.float32), np.asarray(seen["y"], np.float32)
    (x0, x1), (y0, y1) = sorted(seen["range"]["x"]), sorted(seen["range"]["y"])
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def test_box_selection_fills_the_card_with_its_counts(explorer: Explorer, workspace: Path) -> None:
    explorer.open()
    page = explorer.page
    assert page.locator("#selection-stats").is_hidden()  # nothing selected yet
    n = box_select(explorer, "3")
    page.wait_for_selector(f"#selection-stats[data-count='{n}']", timeout=30_000)
    inside = inside_box(explorer)
    assert len(inside) == n > 5
    assert f"{n} of 1,797 items" in page.text_content("#selection-stats-count")
    index = load_index(workspace / "digits-vae-4" / INDEX_DIR)
    assert index.labels is not None
    expected = np.bincount(index.labels[inside], minlength=10)
    rows = page.eval_on_selector_all(
        "#selection-labels tbody tr", "rows => rows.map((r) => [r.dataset.label, r.dataset.count])"
    )
    assert rows == [[str(d), str(c)] for d, c in enumerate(expected.tolist())]
    assert expected[3] == expected.max()  # a box in the middle of the 3s holds mostly 3s
    # the images: the average member decoded and the medoid's thumbnail, both loaded
    for image in ("#selection-average", "#selection-medoid-image"):
        page.wait_for_function(f"() => document.querySelector('{image}').naturalWidth === 16")
    assert int(page.get_attribute("#selection-medoid", "data-id") or -1) in inside
    # both distributions are drawn (the digits VAE has a decoder) and the notes are empty
    assert page.locator("#selection-error-dist .bars .point").count() > 0
    assert page.locator("#selection-faith-dist .bars .point").count() > 0
    assert page.locator("#selection-notes li").count() == 0
    assert page.text_content("#selection-meta dd[data-field='digit']").startswith("3 ")
    # unselected points stay drawn, faded
    faded = explorer.js(OPACITIES)
    assert faded["drawn"] == 1797 and 0 < faded["unselected"] < 1
    assert_accessible(page, "the Selection card")
    path = explorer.screenshot("selection-1280x800")
    with Image.open(path) as shot:
        assert shot.size[0] == 1280
    # the export: the selection's rows, with their latents
    with page.expect_download() as download:
        page.click("[data-selection-export='csv']")
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == n + 1 and "z3" in lines[0].split(",")
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == inside.tolist()


@pytest.fixture(scope="module")
def shapes_explorer(
    context: Any, shapes_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Explorer]:
    """The explorer on a server of the shapes autoencoder (numeric factor metadata)."""
    with running_server(shapes_workspace, tmp_path_factory.mktemp("shapes-server")) as server:
        yield from new_explorer(context, server.base, 1280, 800)


def test_on_shapes_the_card_summarises_the_numeric_factors(
    shapes_explorer: Explorer, shapes_workspace: Path
) -> None:
    explorer = shapes_explorer
    explorer.open()
    page = explorer.page
    n = box_select(explorer, "square")
    page.wait_for_selector(f"#selection-stats[data-count='{n}']", timeout=30_000)
    inside = inside_box(explorer)
    assert len(inside) == n > 5
    index = load_index(shapes_workspace / SHAPES_MODEL / INDEX_DIR)
    assert index.labels is not None
    expected = np.bincount(index.labels[inside], minlength=len(index.label_names))
    rows = page.eval_on_selector_all(
        "#selection-labels tbody tr", "rows => rows.map((r) => [r.dataset.label, r.dataset.count])"
    )
    assert rows == [[k, str(c)] for k, c in zip(index.label_names, expected.tolist(), strict=True)]
    scale = index.metadata["scale"][inside]
    text = page.text_content("#selection-meta dd[data-field='scale']") or ""
    assert text.startswith(f"mean {scale.mean():.3f} ")
    assert f"range {scale.min():.3f} to {scale.max():.3f}" in text
    page.wait_for_function("() => document.querySelector('#selection-average').naturalWidth > 0")
    explorer.screenshot("selection-shapes-1280x800")

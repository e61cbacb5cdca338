"""The Anomaly tab in a real browser, on a tiny digits autoencoder trained without digit 9: the
AUC shown is the API's, the threshold slider rings exactly the items at or above it on the map,
the kNN score switches the figures, and an upload above the threshold is marked."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer, new_explorer
from tests.conftest import ANOMALY_MODEL
from tests.serverproc import running_server

RINGED = """() => {
  const trace = document.getElementById("map").data.find((t) => t.name === "anomalous");
  return (trace.x || []).filter((x) => x !== null).length;
}"""


@pytest.fixture(scope="module")
def anomaly_server(
    anomaly_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with running_server(anomaly_workspace, tmp_path_factory.mktemp("anomaly-server")) as process:
        yield process.base


@pytest.fixture
def anomaly_explorer(context: Any, anomaly_server: str) -> Iterator[Explorer]:
    yield from new_explorer(context, anomaly_server, 1280, 900)


def shown_auc(page: Any) -> float:
    match = re.search(r"ROC AUC (\d\.\d{3})", page.inner_text("#anomaly-auc"))
    assert match, page.inner_text("#anomaly-auc")
    return float(match.group(1))


def above(scores: list[float], threshold: float) -> int:
    return int(np.sum(np.asarray(scores) >= threshold))


def test_the_anomaly_tab_shows_the_auc_and_its_threshold_rings_the_items_above(
    anomaly_explorer: Explorer,
) -> None:
    base = f"{anomaly_explorer.base}/api/models/{ANOMALY_MODEL}/anomaly"
    answers = {
        s: httpx.get(base, params={"score": s}, timeout=60).json()
        for s in ["reconstruction", "knn"]
    }
    anomaly_explorer.open("?tab=anomaly")
    page = anomaly_explorer.page
    panel = "#panel-anomaly"
    page.wait_for_selector(f"{panel}[data-model='{ANOMALY_MODEL}'][data-score='reconstruction']")
    recon = answers["reconstruction"]
    assert shown_auc(page) == pytest.approx(recon["roc"]["auc"], abs=0.0005)
    # held-out normal vs anomalous drawn; the optimistic training items behind their legend entry
    assert page.locator("#anomaly-hist .legend .traces").count() == 3
    assert page.locator("#anomaly-hist .barlayer .trace").count() == 2
    # the starting threshold: the map rings exactly the items at or above it
    threshold = float(page.input_value("#anomaly-threshold"))
    expected = above(recon["scores"], threshold)
    assert 0 < expected < len(recon["scores"])
    assert page.evaluate(RINGED) == expected == int(page.get_attribute(panel, "data-above") or -1)
    assert f"{expected} of {len(recon['scores'])} items" in page.inner_text("#anomaly-rates")
    anomaly_explorer.screenshot("anomaly-reconstruction")
    # a lower threshold rings more items, still exactly those at or above it
    lower = recon["edges"][0] + 0.25 * (threshold - recon["edges"][0])
    page.locator("#anomaly-threshold").fill(str(lower))
    moved = float(page.input_value("#anomaly-threshold"))
    more = above(recon["scores"], moved)
    assert more > expected
    page.wait_for_function(f"() => document.querySelector('{panel}').dataset.above === '{more}'")
    assert page.evaluate(RINGED) == more
    # the kNN score: its own AUC and rings
    page.locator("label:has(input[name=anomaly-score][value=knn])").click()
    page.wait_for_selector(f"{panel}[data-score='knn']")
    knn = answers["knn"]
    assert shown_auc(page) == pytest.approx(knn["roc"]["auc"], abs=0.0005)
    threshold = float(page.input_value("#anomaly-threshold"))
    assert page.evaluate(RINGED) == above(knn["scores"], threshold)
    anomaly_explorer.screenshot("anomaly-knn")


def test_an_upload_above_the_threshold_is_marked(anomaly_explorer: Explorer) -> None:
    anomaly_explorer.open("?tab=anomaly")
    page = anomaly_explorer.page
    page.wait_for_selector(f"#panel-anomaly[data-model='{ANOMALY_MODEL}']")
    blob = np.zeros((16, 16), np.uint8)
    blob[2:14, 2:14] = 255  # a filled square: nothing like a digit
    buffer = io.BytesIO()
    Image.fromarray(blob).save(buffer, format="PNG")
    page.set_input_files(
        "#upload-input",
        files=[{"name": "square.png", "mimeType": "image/png", "buffer": buffer.getvalue()}],
    )
    page.wait_for_selector("#tab-upload[aria-selected='true'], #panel-anomaly:not([hidden])")
    page.click("#tab-anomaly")
    page.wait_for_function(
        "() => document.querySelector('#panel-anomaly').dataset.uploadsAbove === '1'"
    )
    assert "square.png" in page.inner_text("#anomaly-uploads")
    anomaly_explorer.screenshot("anomaly-upload")
    assert_accessible(page, "the anomaly tab")

"""Sharing and exporting in a real browser: a link reopens the same view; points, selections
and images export; nothing is fetched from outside the app."""

from __future__ import annotations

import csv
import json

import pytest

from tests.browser.conftest import Explorer
from tests.browser.helpers import TRACE_SIZES, wait_for_count, wait_for_map, wait_for_url
from tests.browser.test_panels import box_select, set_item


def test_shared_link_reopens_the_same_view(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    page.locator("#projection-group label", has_text="PCA").click()
    wait_for_map(page, "projection", "pca")
    page.select_option("#colour-select", "reconstruction_error")
    wait_for_map(page, "colour", "reconstruction_error")
    # Colouring by a number: the legend chips still hide classes of the label.
    page.locator("#legend .chip[data-category='5']").click()
    n_a = box_select(explorer, "0")
    page.click("#to-group-a")
    # An interpolation...
    set_item(explorer, "#interp-start", 0)
    set_item(explorer, "#interp-end", 100)
    page.check("input[name=interp-method][value=lerp]")
    page.fill("#interp-steps", "5")
    page.press("#interp-steps", "Tab")
    page.click("#interp-run")
    wait_for_count(page, "#interp-strip img", 5)
    # ...and arithmetic, left open.
    page.click("#tab-arithmetic")
    set_item(explorer, "#arith-start", 3)
    page.click("#arith-add")
    page.locator(".term select").select_option("digit:1-7")
    page.wait_for_selector("#arith-result:not([hidden])")
    wait_for_url(page, "a:digit:1-7")
    wait_for_url(page, "ar=1")
    wait_for_url(page, "tab=arithmetic")
    url = page.url

    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    assert page.is_checked("input[name=projection][value=pca]")
    assert page.input_value("#colour-select") == "reconstruction_error"
    assert page.get_attribute("#legend .chip[data-category='5']", "aria-pressed") == "false"
    assert page.get_attribute("#tab-arithmetic", "aria-selected") == "true"
    assert page.get_attribute("#interp-start", "data-ref") == "i0"
    assert page.get_attribute("#interp-end", "data-ref") == "i100"
    assert page.is_checked("input[name=interp-method][value=lerp]")
    assert page.input_value("#interp-steps") == "5"
    wait_for_count(page, "#interp-strip img", 5)
    page.wait_for_selector("#arith-result:not([hidden])")
    assert page.get_attribute("#arith-start", "data-ref") == "i3"
    assert page.input_value(".term select") == "digit:1-7"
    sizes = explorer.js(TRACE_SIZES)
    assert sizes["path"] == 5 and sizes["groupA"] == n_a and sizes["result"] == 1
    assert page.inner_text("#group-a-tag") == f"A: {n_a}"
    explorer.screenshot("shared-link-1280x800")
    # The whole session stayed inside the app; plotly.js came from it too.
    assert any(u == f"{explorer.base}/vendor/plotly.min.js" for u in explorer.log.requests)
    assert explorer.log.outside() == []


def test_export_points_and_selection(explorer: Explorer) -> None:
    explorer.open("?tab=export&hide=0")
    page = explorer.page
    hidden = int(page.locator("#legend .chip[data-category='0'] .count").inner_text())
    with page.expect_download() as download:
        page.click("[data-export=visible][data-format=csv]")
    assert download.value.suggested_filename.endswith(".csv")
    with open(download.value.path(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1797 - hidden
    assert {"id", "name", "x", "y", "digit", "reconstruction_error"} <= set(rows[0])
    assert all(row["digit"] != "0" for row in rows)
    n = box_select(explorer, "4")
    page.select_option("#export-which", "selection")
    with page.expect_download() as download:
        page.click("[data-export=selection][data-format=json]")
    with open(download.value.path()) as f:
        body = json.load(f)
    assert body["count"] == n == len(body["items"])
    assert body["projection"] == "umap"
    # Group B is empty: the page says so instead of writing an empty file.
    page.select_option("#export-which", "b")
    page.click("[data-export=selection][data-format=csv]")
    assert "empty" in page.inner_text("#panel-export .error")
    assert explorer.base in page.input_value("#share-url")


def test_exports_carry_the_latents_when_asked(explorer: Explorer) -> None:
    """On by default for JSON (a `latent` list per row, the server's float32 values), off by
    default for CSV; checked, CSV gets one column per dimension."""
    explorer.open("?tab=export")
    page = explorer.page
    n = box_select(explorer, "7")
    page.select_option("#export-which", "selection")
    assert page.is_checked("#export-latents-json")
    assert not page.is_checked("#export-latents-csv")
    with page.expect_download() as download:
        page.click("[data-export=selection][data-format=json]")
    with open(download.value.path()) as f:
        items = json.load(f)["items"]
    assert len(items) == n
    latents = explorer.js(
        """async () => {
            const r = await fetch(`/api/models/${window.latentExplorer.state.model}/latents`);
            return Array.from(new Float32Array(await r.arrayBuffer()));
        }"""
    )
    dim = len(items[0]["latent"])
    assert dim == 4
    for row in items[:20]:
        expected = latents[row["id"] * dim : (row["id"] + 1) * dim]
        assert [float(v) for v in row["latent"]] == pytest.approx(expected, rel=1e-6)
    with page.expect_download() as download:
        page.click("[data-export=selection][data-format=csv]")
    with open(download.value.path(), newline="") as f:
        assert "z0" not in next(csv.DictReader(f))
    page.check("#export-latents-csv")
    with page.expect_download() as download:
        page.click("[data-export=selection][data-format=csv]")
    with open(download.value.path(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n and {"z0", "z1", "z2", "z3"} <= set(rows[0])
    first = int(rows[0]["id"])
    assert [float(rows[0][f"z{i}"]) for i in range(4)] == pytest.approx(
        latents[first * 4 : first * 4 + 4], rel=1e-6
    )

"""Links, exports and errors as a user meets them (issue 17): the zoom travels in a link, a
link naming a model the server lacks says so, image exports say why they cannot run yet,
"points in view" means the view, out-of-range values are told in words, an unknown attribute
is named in the page's language, and the compare page with one model says what to do."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer, new_explorer
from tests.browser.helpers import PLOT_BOX, wait_for_count, wait_for_url
from tests.browser.test_panels import set_item

VIEW = "() => window.latentExplorer.map.viewRange()"


def zoom_in(explorer: Explorer) -> dict[str, list[float]]:
    """Drag a rectangle over the middle of the map with the Zoom tool; the range then shown."""
    page = explorer.page
    page.locator("#tool-group label", has_text="Zoom").click()
    box = explorer.js(PLOT_BOX)
    before = explorer.js(VIEW)
    page.mouse.move(box["x"] + 0.3 * box["w"], box["y"] + 0.3 * box["h"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["w"], box["y"] + 0.45 * box["h"], steps=4)
    page.mouse.move(box["x"] + 0.65 * box["w"], box["y"] + 0.6 * box["h"], steps=4)
    page.mouse.up()
    page.wait_for_function(f"(x0) => ({VIEW})().x[0] !== x0", arg=before["x"][0])
    return explorer.js(VIEW)


def test_a_link_keeps_the_zoom(explorer: Explorer) -> None:
    explorer.open()
    view = zoom_in(explorer)
    wait_for_url(explorer.page, "view=")
    url = explorer.page.url
    explorer.page.goto("about:blank")
    explorer.page.goto(url)
    explorer.page.wait_for_selector("body[data-ready='true']")
    explorer.page.wait_for_selector("#map[data-ready='true']")
    again = explorer.js(VIEW)
    for axis in ("x", "y"):
        span = view[axis][1] - view[axis][0]
        assert again[axis] == pytest.approx(view[axis], abs=1e-3 * span), (view, again)


def test_a_link_to_a_model_the_server_lacks_says_so(explorer: Explorer, model_name: str) -> None:
    explorer.open("?model=no-such-model")
    toast = explorer.page.locator("#toast")
    toast.wait_for(state="visible")
    assert "no-such-model" in toast.inner_text() and model_name in toast.inner_text()


def test_image_exports_say_why_until_there_is_something(explorer: Explorer) -> None:
    explorer.open("?tab=export")
    page = explorer.page
    assert page.is_disabled("[data-export=strip]") and page.is_disabled("[data-export=grid]")
    assert "run an interpolation" in page.inner_text("#export-strip-why")
    assert "draw one in the Traverse tab" in page.inner_text("#export-grid-why")
    assert_accessible(page, "the export tab before any run")
    page.click("#tab-interpolate")
    set_item(explorer, "#interp-start", 0)
    set_item(explorer, "#interp-end", 42)
    page.click("#interp-run")
    wait_for_count(page, "#interp-strip img", 8)
    page.click("#tab-export")
    assert page.is_enabled("[data-export=strip]") and page.is_disabled("[data-export=grid]")
    assert page.is_hidden("#export-strip-why")


def test_points_in_view_exports_the_view(explorer: Explorer) -> None:
    explorer.open()
    view = zoom_in(explorer)
    page = explorer.page
    page.click("#tab-export")
    with page.expect_download() as download:
        page.click("[data-export=visible][data-format=csv]")
    with open(download.value.path(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert 0 < len(rows) < 1797
    for row in rows:
        assert view["x"][0] <= float(row["x"]) <= view["x"][1]
        assert view["y"][0] <= float(row["y"]) <= view["y"][1]
    page.wait_for_function(
        "(n) => document.querySelector('#export-visible-count').textContent === `(${n})`",
        arg=len(rows),
    )


def test_values_out_of_range_are_told_in_words(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    assert "2–64" in page.inner_text("#panel-interpolate .row")
    page.fill("#interp-steps", "1000")
    page.press("#interp-steps", "Tab")
    assert page.input_value("#interp-steps") == "64"
    assert "1000 became 64" in page.inner_text("#panel-interpolate")
    page.fill("#interp-steps", "0")
    page.press("#interp-steps", "Tab")
    assert "0 became 2" in page.inner_text("#panel-interpolate")
    page.click("#tab-neighbours")
    page.fill("#nn-k", "5000")
    page.press("#nn-k", "Tab")
    assert page.input_value("#nn-k") == "100"
    assert "5000 became 100" in page.inner_text("#panel-neighbours")
    # An item past the end: said in the slot, which stays as it was.
    page.click("#tab-interpolate")
    assert page.get_attribute("#interp-start .item-input", "placeholder") == "0–1796"
    field = page.locator("#interp-start .item-input")
    field.fill("5000")
    field.press("Enter")
    assert "run from 0 to 1796" in page.inner_text("#interp-start .slot-note")
    assert page.get_attribute("#interp-start", "data-set") == "false"


def test_an_unknown_attribute_in_a_link_is_said_in_the_pages_words(explorer: Explorer) -> None:
    explorer.open("?tab=arithmetic&as=i3&t=1~a:colour:red&ar=1")
    error = explorer.page.locator("#panel-arithmetic .error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert "colour:red" in text and "GET /api" not in text and "choose one" in text
    explorer.log.expect_error("404")


@pytest.fixture
def compare_alone(context: Any, server: str) -> Iterator[Explorer]:
    yield from new_explorer(context, server, 1280, 800)


def test_compare_with_one_model_says_what_to_do(compare_alone: Explorer) -> None:
    page = compare_alone.page
    page.goto(f"{compare_alone.base}/compare")
    page.wait_for_selector("body[data-ready='true']")
    needs = page.locator("#compare-needs")
    assert needs.is_visible() and page.is_hidden("#compare-error")
    assert "latent-explorer train" in needs.inner_text()
    assert page.is_hidden(".controls") and page.is_hidden("#compare-layout")
    assert_accessible(page, "the compare page with one model")

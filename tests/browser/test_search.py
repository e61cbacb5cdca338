"""The search row in a real browser, on the session's digits VAE: `digit=3` rings the right items
on the map (checked against the map's own labels and the API's answer), counts them, and makes
them the selection or a group; a refused query says why beside the box; an empty box clears."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import Explorer

# The ids the search overlay rings, from its trace positions (every point is drawn: 1,797 < cap).
RINGED = """() => {
  const { loaded } = window.latentExplorer;
  const trace = document.getElementById("map").data.find((t) => t.name === "search");
  const at = new Map();
  const { x, y, count } = loaded.points;
  for (let id = 0; id < count; id += 1) at.set(x[id] + "," + y[id], id);
  return trace.x.map((x, i) => at.get(x + "," + trace.y[i])).sort((a, b) => a - b);
}"""
# Brute force on the page's own points: the items whose label is "3".
THREES = """() => {
  const field = window.latentExplorer.loaded.fields.digit;
  const ids = [];
  for (let id = 0; id < field.codes.length; id += 1) {
    if (field.categories[field.codes[id]] === "3") ids.push(id);
  }
  return ids;
}"""
SELECTED_COUNT = """() => (document.getElementById("map").data[0].selectedpoints || []).length"""


def search(explorer: Explorer, query: str) -> None:
    page = explorer.page
    page.fill("#search-input", query)
    page.press("#search-input", "Enter")


def test_digit_3_rings_counts_and_selects_the_threes(explorer: Explorer, model_name: str) -> None:
    explorer.open()
    page = explorer.page
    search(explorer, "digit=3")
    page.wait_for_selector("#search[data-query='digit=3']")
    threes = explorer.js(THREES)
    total = explorer.js("() => window.latentExplorer.loaded.points.count")
    api = httpx.get(
        f"{explorer.base}/api/models/{model_name}/search", params={"q": "digit=3", "limit": 5000}
    ).json()
    assert api["ids"] == threes and api["count"] == len(threes) > 100
    assert page.inner_text("#search-count") == f"{len(threes)} of {total:,} items match"
    assert explorer.js(RINGED) == threes
    assert "q=digit%3D3" in page.url  # part of the link
    explorer.screenshot("search")
    # The matches become the selection: lit on the map and counted in the selection bar.
    page.click("#search-select")
    page.wait_for_function(f"() => window.latentExplorer.state.selection.length === {len(threes)}")
    assert sorted(explorer.js("() => window.latentExplorer.state.selection")) == threes
    page.wait_for_function(f"() => ({SELECTED_COUNT})() === {len(threes)}")
    assert page.inner_text("#selection-count") == f"{len(threes)} points selected."
    # ... or group B, drawn on the map as the group's overlay.
    page.click("#search-group-b")
    page.wait_for_function(f"() => window.latentExplorer.state.groupB.length === {len(threes)}")
    assert page.inner_text("#group-b-tag") == f"B: {len(threes)}"
    assert explorer.js(
        "() => document.getElementById('map').data.find((t) => t.name === 'groupB').x.length"
    ) == len(threes)
    # A name word and a condition together: fewer, still the API's.
    search(explorer, "digit-00 digit=3")
    page.wait_for_selector("#search[data-query='digit-00 digit=3']")
    few = [i for i in threes if i < 100]
    assert explorer.js(RINGED) == few
    assert page.inner_text("#search-count").startswith(f"{len(few)} of ")


@pytest.mark.parametrize("narrow", [False, True])
def test_a_refusal_shows_beside_the_box_and_an_empty_box_clears(
    explorer: Explorer, narrow_explorer: Explorer, narrow: bool
) -> None:
    explorer = narrow_explorer if narrow else explorer
    explorer.open()
    page = explorer.page
    search(explorer, "digit=7")
    page.wait_for_selector("#search[data-query='digit=7']")
    assert explorer.js(RINGED)
    search(explorer, "colour=red")
    page.wait_for_selector("#search-error:not([hidden])")
    message = page.inner_text("#search-error")
    assert "no field 'colour'" in message and "digit (text)" in message
    assert explorer.js(RINGED) == [] and page.inner_text("#search-count") == ""
    assert page.get_attribute("#search-input", "aria-invalid") == "true"
    explorer.log.expect_error("422")
    # The row fits the screen: no horizontal scrolling, the box wide enough to type in.
    layout = explorer.js(
        "() => ({ scroll: document.documentElement.scrollWidth - innerWidth,"
        " box: document.getElementById('search-input').getBoundingClientRect().width })"
    )
    assert layout["scroll"] <= 0 and layout["box"] >= 150, layout
    explorer.screenshot(f"search-error-{'narrow' if narrow else 'wide'}")
    search(explorer, "digit=7")  # data-query is still digit=7 from before the refusal
    page.wait_for_selector("#search-error", state="hidden")
    page.wait_for_function(f"() => ({RINGED})().length > 0")
    page.fill("#search-input", "")  # deleting the query clears at once, without Enter
    page.wait_for_selector("#search[data-matches='0']")
    assert explorer.js(RINGED) == [] and page.inner_text("#search-count") == ""
    assert page.is_hidden("#search-actions")

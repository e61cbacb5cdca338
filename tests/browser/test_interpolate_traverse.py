"""Interpolation, traversal and the preview as a teacher meets them (issue 17): every frame in
view, the preview on the highlighted frame, the map's reading of the path explained, Traverse
following the place, neighbour rings leaving with their cause, and no layout shift from a drag."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Explorer
from tests.browser.helpers import PLOT_BOX, TRACE_SIZES, wait_for_count, wait_for_title
from tests.browser.test_panels import click_item, set_item

# Whether every frame of the strip lies inside the strip's box (nothing scrolled out of view).
FRAMES_IN_VIEW = """() => {
  const strip = document.querySelector('#interp-strip');
  const box = strip.getBoundingClientRect();
  const panel = document.querySelector('#panel-interpolate').getBoundingClientRect();
  const out = [...strip.querySelectorAll('img')].filter((img) => {
    const r = img.getBoundingClientRect();
    return r.width < 24 || r.left < box.left - 0.5 || r.right > box.right + 0.5
      || r.right > panel.right || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
  });
  return { out: out.length, scroll: strip.scrollWidth - strip.clientWidth,
           captions: [...strip.querySelectorAll('figcaption')].map((c) => c.textContent) };
}"""

# The frame overlay's position and the path's positions on the map.
OVERLAY_XY = """(name) => {
  const t = document.getElementById('map').data.find((d) => d.name === name);
  return t.x.map((x, i) => [x, t.y[i]]);
}"""
TRACE = "document.getElementById('map').data.find((d) => d.name === '{}')"


def interpolate(explorer: Explorer, steps: int) -> None:
    page = explorer.page
    page.fill("#interp-steps", str(steps))
    page.press("#interp-steps", "Tab")
    page.click("#interp-run")
    wait_for_count(page, "#interp-strip img", steps)
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('#interp-strip img')].every((i) => i.complete)"
        " && document.querySelectorAll('#interp-strip img').length === n",
        arg=steps,
    )


@pytest.mark.parametrize("steps", [8, 16, 64])
def test_every_frame_is_in_view_with_start_and_end_marked(explorer: Explorer, steps: int) -> None:
    explorer.open()
    set_item(explorer, "#interp-start", 0)
    set_item(explorer, "#interp-end", 42)
    interpolate(explorer, steps)
    found = explorer.js(FRAMES_IN_VIEW)
    assert found["out"] == 0 and found["scroll"] <= 0, found
    assert found["captions"][0] == "Start" and found["captions"][-1] == "End"
    if steps == 16:
        explorer.screenshot("interpolate-16-1280x800")


def test_after_interpolate_the_preview_shows_the_highlighted_frame(explorer: Explorer) -> None:
    explorer.open()
    click_item(explorer, 5)
    set_item(explorer, "#interp-start", 0)
    set_item(explorer, "#interp-end", 42)
    interpolate(explorer, 8)
    wait_for_title(explorer.page, "interpolation frame 1 of 8")
    assert explorer.page.get_attribute("#interp-strip img.current", "data-index") == "0"


def test_the_path_is_explained_hovered_frames_are_placed_and_pca_is_one_click(
    explorer: Explorer,
) -> None:
    explorer.open("?proj=umap")
    page = explorer.page
    set_item(explorer, "#interp-start", 0)
    set_item(explorer, "#interp-end", 42)
    interpolate(explorer, 8)
    note = page.inner_text("#interp-note")
    assert "seen through the map" in note
    path = explorer.js(OVERLAY_XY, "path")
    page.hover("#interp-strip img[data-index='4']")
    page.wait_for_function(
        f"(xy) => {{ const t = {TRACE.format('frame')}; return t.x.length === 1"
        " && Math.abs(t.x[0] - xy[0]) < 1e-6 && Math.abs(t.y[0] - xy[1]) < 1e-6; }",
        arg=path[4],
    )
    page.mouse.move(5, 5)  # off the strip: the current frame (1) is marked again
    page.wait_for_function(
        "(xy) => Math.abs(document.getElementById('map').data.find((d) => d.name === 'frame').x[0]"
        " - xy[0]) < 1e-6",
        arg=path[0],
    )
    page.click("#interp-on-pca")
    page.wait_for_function("() => document.getElementById('map').dataset.projection === 'pca'")
    page.wait_for_function(
        f"(before) => {{ const t = {TRACE.format('path')};"
        " return t.x.length === 8 && t.x[0] !== before; }",
        arg=path[0][0],
    )
    assert page.is_hidden("#interp-on-pca")


def test_traverse_follows_the_place_and_fits_fifteen_steps(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    click_item(explorer, 3)
    page.click("#tab-traverse")
    page.wait_for_selector("#trav-start[data-ref='i3']")
    click_item(explorer, 42)
    page.wait_for_selector("#trav-start[data-ref='i42']")
    page.fill("#trav-steps", "15")
    page.press("#trav-steps", "Tab")
    page.click("#trav-run")
    page.wait_for_selector("#trav-result:not([hidden])")
    wrap = explorer.js(
        "() => { const w = document.querySelector('.grid-wrap');"
        " const t = document.querySelector('#trav-grid');"
        " const p = document.querySelector('#panel-traverse').getBoundingClientRect();"
        " return { scroll: w.scrollWidth - w.clientWidth,"
        " right: t.getBoundingClientRect().right - p.right,"
        " cols: t.querySelector('tbody tr').querySelectorAll('img').length }; }"
    )
    assert wrap["cols"] == 15 and wrap["scroll"] <= 0 and wrap["right"] <= 0, wrap
    # A grid already drawn follows the next place too.
    click_item(explorer, 7)
    page.wait_for_selector("#trav-start[data-ref='i7']")
    explorer.screenshot("traverse-15-1280x800")


def test_neighbour_rings_leave_with_their_cause(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    page.click("#tab-neighbours")
    click_item(explorer, 3)
    page.wait_for_function(f"() => ({TRACE_SIZES})().neighbours === 8")
    page.click("#tab-export")  # the tab that asked for them closes
    page.wait_for_function(f"() => ({TRACE_SIZES})().neighbours === 0")
    page.click("#tab-neighbours")
    page.wait_for_function(f"() => ({TRACE_SIZES})().neighbours === 8")


def test_the_frames_per_second_readout_leaves_with_the_drag_and_nothing_moves(
    explorer: Explorer,
) -> None:
    explorer.open()
    page = explorer.page
    tabs_top = lambda: page.locator("#panels").bounding_box()["y"]  # noqa: E731
    before = tabs_top()
    box = explorer.js(PLOT_BOX)
    x0, y0 = box["x"] + 0.2 * box["w"], box["y"] + 0.3 * box["h"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 60):
        page.mouse.move(x0 + 0.6 * box["w"] * i / 60, y0 + 0.4 * box["h"] * i / 60)
        page.wait_for_timeout(15)
    page.wait_for_function(
        "() => document.querySelector('#drag-rate').textContent.includes('frames/s')"
    )
    during = tabs_top()
    page.mouse.up()
    wait_for_title(page, "Map point")
    assert page.inner_text("#drag-rate") == ""
    after = tabs_top()
    assert before == during == after, (before, during, after)


def test_the_arithmetic_result_is_in_the_preview_with_its_formula(explorer: Explorer) -> None:
    explorer.open("?tab=arithmetic")
    page = explorer.page
    set_item(explorer, "#arith-start", 7)
    page.click("#arith-add")
    page.locator(".term select").select_option("digit:0-1")
    slider = page.locator(".term input[type=range]")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_for_title(page, "= item 7 + 1.5 × digit 0 minus digit 1")
    page.wait_for_function(
        "() => document.querySelector('#preview-image').src"
        " === document.querySelector('#arith-image').src"
    )
    assert page.inner_text("#arith-formula") == "= item 7 + 1.5 × digit 0 minus digit 1"
    # The analogy: explained in one line, and computed as soon as a, b and c are set.
    page.locator("label", has_text="Analogy").click()
    assert "the change that turns b into a" in page.inner_text("#arith-analogy-help")
    for slot, item in (("#arith-a", 1), ("#arith-b", 2), ("#arith-c", 3)):
        set_item(explorer, slot, item)
    wait_for_title(page, "= item 1 − item 2 + item 3")

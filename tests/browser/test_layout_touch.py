"""Layout and touch (issue 17): the selection bar under the map is not clipped on common
screens, a Box replaces the selection (Shift adds), a phone sees the preview right after a tap,
a touch in Probe mode does not scroll, a cancelled pointer ends the drag, and Plotly's zoom tip
does not cover the header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import SCREENSHOTS, Explorer, new_explorer
from tests.browser.helpers import LABEL_BOX, PLOT_BOX, wait_for_title
from tests.browser.test_links_exports import zoom_in

TOUCH_ACTION = "() => getComputedStyle(document.getElementById('map')).touchAction"
FITS = """() => {
  const q = (s) => document.querySelector(s).getBoundingClientRect();
  const map = q('#map'), svg = q('#map .main-svg');
  const bar = q('#selection-bar'), card = q('.map-card');
  return { over: svg.bottom - map.bottom, barBottom: bar.bottom, cardBottom: card.bottom,
           height: innerHeight };
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900), (1920, 1080)])
def test_the_selection_bar_is_not_clipped(explorer: Explorer, size: tuple[int, int]) -> None:
    explorer.page.set_viewport_size({"width": size[0], "height": size[1]})
    explorer.open()
    explorer.page.wait_for_function(f"() => ({FITS})().over <= 0.5", timeout=5_000)
    fits = explorer.js(FITS)
    assert fits["barBottom"] <= fits["cardBottom"] <= fits["height"], fits


def drag_box(explorer: Explorer, box: dict[str, float], shift: bool = False) -> list[int]:
    page = explorer.page
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=4)
    page.mouse.move(box["x1"], box["y1"], steps=4)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")
    page.wait_for_timeout(300)
    return sorted(explorer.js("() => window.latentExplorer.state.selection"))


def test_a_box_replaces_the_selection_and_shift_adds(explorer: Explorer) -> None:
    explorer.open()
    explorer.page.locator("#tool-group label", has_text="Box").click()
    four = explorer.js(LABEL_BOX, "4")
    first = drag_box(explorer, {k: four[k] for k in ("x0", "y0", "x1", "y1")})
    assert first
    # A second box starting inside the first, reaching beyond it: its own points, not the
    # first box moved, and not the first selection kept.
    inner = {
        "x0": (four["x0"] + four["x1"]) / 2,
        "y0": (four["y0"] + four["y1"]) / 2,
        "x1": four["x1"] + 40,
        "y1": four["y1"] + 40,
    }
    second = drag_box(explorer, inner)
    xs = explorer.js(
        """(ids) => {
          const { loaded, map } = window.latentExplorer;
          const r = document.getElementById('map').getBoundingClientRect();
          return ids.map((id) => {
            const p = map.toPixel(loaded.points.x[id], loaded.points.y[id]);
            return [r.left + p[0], r.top + p[1]];
          });
        }""",
        second,
    )
    assert second and all(
        inner["x0"] - 1 <= x <= inner["x1"] + 1 and inner["y0"] - 1 <= y <= inner["y1"] + 1
        for x, y in xs
    )
    zero = explorer.js(LABEL_BOX, "0")
    added = drag_box(explorer, {k: zero[k] for k in ("x0", "y0", "x1", "y1")}, shift=True)
    assert set(second) < set(added) and len(added) > len(second)


@pytest.fixture
def phone(browser: Any, server: str) -> Iterator[Explorer]:
    """The explorer on a phone: 390x844, touch."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    try:
        yield from new_explorer(context, server, 390, 844)
    finally:
        context.close()


def test_on_a_phone_the_preview_is_in_view_after_a_tap(phone: Explorer) -> None:
    phone.open()
    page = phone.page
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 0.5 * box["width"], box["y"] + 0.3 * box["height"])
    page.wait_for_function(
        "() => document.querySelector('#preview-title').textContent"
        " !== 'Click the map to decode a place.'"
    )
    page.wait_for_function("() => document.querySelector('#preview-image').complete")
    shown = phone.js(
        "() => { const r = document.querySelector('#preview-image').getBoundingClientRect();"
        " return { top: r.top, bottom: r.bottom, height: innerHeight, w: r.width }; }"
    )
    assert shown["w"] > 60 and 0 <= shown["top"] and shown["bottom"] <= shown["height"], shown
    assert_accessible(page, "the phone layout after a tap")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone-390x844-tap.png"))  # what the phone shows


def test_probe_touches_do_not_scroll_and_a_cancelled_pointer_ends_the_drag(
    explorer: Explorer,
) -> None:
    explorer.open()
    page = explorer.page
    assert explorer.js(TOUCH_ACTION) == "none"
    box = explorer.js(PLOT_BOX)
    x, y = box["x"] + 0.3 * box["w"], box["y"] + 0.4 * box["h"]
    explorer.js(
        """([x, y]) => {
          const gd = document.getElementById('map');
          const target = document.elementFromPoint(x, y);
          const at = (dx) => ({ clientX: x + dx, clientY: y, button: 0, bubbles: true,
                               pointerId: 7, pointerType: 'touch', isPrimary: true });
          target.dispatchEvent(new PointerEvent('pointerdown', at(0)));
          for (let dx = 5; dx <= 60; dx += 5) {
            target.dispatchEvent(new PointerEvent('pointermove', at(dx)));
          }
          target.dispatchEvent(new PointerEvent('pointercancel', at(60)));
        }""",
        [x, y],
    )
    assert explorer.js("() => window.latentExplorer.map.press") is None
    wait_for_title(page, "Map point")
    page.wait_for_function(
        "() => !document.querySelector('#preview-sub').textContent.includes('dragging')"
    )
    page.locator("#tool-group label", has_text="Pan").click()
    assert explorer.js(TOUCH_ACTION) != "none"


def test_plotlys_zoom_tip_does_not_cover_the_header(explorer: Explorer) -> None:
    explorer.open()
    zoom_in(explorer)
    explorer.page.wait_for_timeout(300)
    assert explorer.page.locator(".notifier-note").count() == 0

"""axe-core (WCAG 2.1 AA and best practices) finds nothing on the explorer page, after opening
each panel, at desktop and phone sizes, nor on the compare page."""

from __future__ import annotations

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer
from tests.browser.test_panels import click_item

TABS = ["interpolate", "arithmetic", "upload", "neighbours", "traverse", "export", "topology"]


def test_the_explorer_page_and_every_panel_pass_axe(explorer: Explorer) -> None:
    explorer.open()
    assert_accessible(explorer.page, "the explorer page")
    click_item(explorer, 3)
    for tab in TABS:
        explorer.page.click(f"#tab-{tab}")
        explorer.page.wait_for_selector(f"#panel-{tab}:not([hidden])")
        if tab == "topology":  # checked with its barcode drawn, not only its progress line
            explorer.page.wait_for_selector("#topo-plot .main-svg")
        assert_accessible(explorer.page, f"the {tab} tab")
    # The selected tool and projection buttons (contrast) and a run's results.
    explorer.page.click("#tab-interpolate")
    explorer.page.locator("#interp-start [data-action=current]").click()
    explorer.page.locator("#interp-end .item-input").fill("40")
    explorer.page.locator("#interp-end .item-input").press("Enter")
    explorer.page.click("#interp-run")
    explorer.page.wait_for_selector("#interp-strip img")
    explorer.page.locator("#tool-group label", has_text="Box").click()
    assert_accessible(explorer.page, "an interpolation run with the Box tool")


def test_the_phone_layout_passes_axe(phone_explorer: Explorer) -> None:
    phone_explorer.open()
    assert_accessible(phone_explorer.page, "the explorer page at 390x844")

"""The Topology tab in a real browser: the barcode draws, the Betti numbers follow the scale
slider, and pressing a bar lights up its items on the map."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import Explorer

OVERLAY_COUNTS = """() => {
  const traces = document.getElementById("map").data;
  const count = (name) => (traces.find((t) => t.name === name).x || []).length;
  const lit = window.latentExplorer.map.highlighted;
  return [count("topoA"), count("loop"), lit ? lit.length : 0];
}"""


def press_bar(page: Any, trace: int, point: int) -> None:
    """Point at the middle of a drawn bar, wait for its hover label (Plotly's click reports the
    hovered point, and its hover follows the mouse a frame later), then click, as a person
    would."""
    bar = page.locator("#topo-plot g.trace.bars").nth(trace).locator("g.point").nth(point)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None and box["width"] > 2 and box["height"] > 2
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_function(
        "(dim) => { const label = document.querySelector('#topo-plot .hoverlayer .hovertext');"
        " return label && label.textContent.startsWith(`H${dim} bar`); }",
        arg=trace,
    )
    page.mouse.click(x, y)


def alive(bars: list[list[float | None]], r: float) -> int:
    return sum(1 for b, d in bars if b is not None and b <= r and (d is None or d > r))


def test_the_barcode_counts_components_and_a_bar_press_lights_up_its_groups(
    explorer: Explorer, model_name: str
) -> None:
    topo = httpx.get(f"{explorer.base}/api/models/{model_name}/topology", timeout=120).json()
    explorer.open("?tab=topology")
    page = explorer.page
    page.wait_for_selector(f"#panel-topology[data-model='{model_name}']", timeout=120_000)
    assert page.is_hidden("#topo-progress")
    drawn = int(page.get_attribute("#topo-plot", "data-bars") or 0)
    assert drawn == min(50, len(topo["h0"])) + min(50, len(topo["h1"]))
    # The Betti numbers at two scales: what the diagram says, counted here.
    finite = sorted(d for _, d in topo["h0"] if d is not None)
    for r in (finite[len(finite) // 2], finite[-1] * 1.01):
        page.locator("#topo-scale").fill(str(r))
        value = float(page.input_value("#topo-scale"))
        page.wait_for_function(
            "(b0) => document.getElementById('panel-topology').dataset.b0 === String(b0)",
            arg=alive(topo["h0"], value),
        )
        assert page.get_attribute("#panel-topology", "data-b1") == str(alive(topo["h1"], value))
        assert f"{alive(topo['h0'], value)} connected component" in page.inner_text("#topo-betti")
    assert "1 connected component " in page.inner_text("#topo-betti")
    # Press the longest finite H0 bar (the second row: the infinite bar comes first).
    press_bar(page, 0, 1)
    page.wait_for_selector("#panel-topology[data-picked^='0:']")
    bar = int((page.get_attribute("#panel-topology", "data-picked") or "").split(":")[1])
    groups = httpx.get(f"{explorer.base}/api/models/{model_name}/topology/h0/{bar}").json()
    small, large = sorted(len(g) for g in groups["groups"])
    assert small + large == topo["n_items"]
    # The smaller group ringed, both groups lit.
    assert explorer.js(OVERLAY_COUNTS) == [small, 0, small + large]
    assert f"a group of {small} item" in page.inner_text("#topo-picked")
    assert f"joins a group of {large}" in page.inner_text("#topo-picked")
    explorer.screenshot("topology")
    # An H1 bar: its loop's items, and the groups go.
    if topo["h1"]:
        press_bar(page, 1, 0)
        page.wait_for_selector("#panel-topology[data-picked='1:0']")
        loop_ids = httpx.get(f"{explorer.base}/api/models/{model_name}/topology/h1/0").json()["ids"]
        assert explorer.js(OVERLAY_COUNTS) == [0, len(loop_ids), 0]
    # Another tab takes the marks away.
    page.locator("#tab-neighbours").click()
    page.wait_for_function(f"() => ({OVERLAY_COUNTS})().every((n) => n === 0)")

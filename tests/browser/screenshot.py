"""The docs' screenshots, made with the browser tests' own machinery: a real server on a
workspace, Debian's Chromium at 1280x800. docs/img/page.png: the page opened and probed between
points as `test_map.py` does; docs/img/topology.png (--topology): the Topology tab with its
most balanced drawn H0 merge pressed. Run it on the default digits model, not the tests' tiny one:

    python -m app train --out /tmp/ws        # the default digits VAE (latent 8, 32x32)
    python -m tests.browser.screenshot /tmp/ws
    python -m tests.browser.screenshot /tmp/ws --topology   # the Topology tab, a bar pressed

It writes nothing into the workspace (the server never does)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.browser.conftest import CHROMIUM_ARGS, SCREENSHOTS, Explorer, PageLog
from tests.browser.helpers import EMPTY_SPOT, wait_for_title
from tests.serverproc import ROOT, running_server

OUT = ROOT / "docs" / "img" / "page.png"
TOPOLOGY_OUT = ROOT / "docs" / "img" / "topology.png"


def probe_between_points(explorer: Explorer) -> None:
    page = explorer.page
    explorer.open()
    spot = explorer.js(EMPTY_SPOT)
    page.mouse.click(spot["x"], spot["y"])  # decode a place between points
    wait_for_title(page, "Map point")
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth > 0")


def press_most_balanced_h0_bar(explorer: Explorer) -> None:
    """Open the Topology tab and press the drawn H0 bar whose merge joins the two largest
    groups (the longest bars mostly join a lone outlier to the rest: true, but less to see)."""
    from tests.browser.test_topology import press_bar
    from tests.serverproc import get_json

    page = explorer.page
    explorer.open("?tab=topology")
    page.wait_for_selector("#panel-topology[data-model]", timeout=300_000)
    model = page.get_attribute("#panel-topology", "data-model")
    n = len(get_json(f"{explorer.base}/api/models/{model}/topology")["h0"])
    # Drawn rows: the infinite bar, then the finite ones longest first (h0 is by death).
    rows = range(1, min(50, n))
    smaller = [
        min(
            map(
                len,
                get_json(f"{explorer.base}/api/models/{model}/topology/h0/{n - 1 - r}")["groups"],
            )
        )
        for r in rows
    ]
    press_bar(page, 0, rows[smaller.index(max(smaller))])
    page.wait_for_selector("#panel-topology[data-picked^='0:']")
    page.evaluate("document.querySelector('#panel-topology').scrollIntoView({block: 'start'})")


def make_screenshot(workspace: Path, out: Path, topology: bool = False) -> Path:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as logs, running_server(workspace, Path(logs)) as server:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            height = 1100 if topology else 800
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.set_default_timeout(30_000)
            log = PageLog(server.base)
            page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
            explorer = Explorer(page, log, server.base)
            (press_most_balanced_h0_bar if topology else probe_between_points)(explorer)
            page.mouse.move(5, 5)  # no hover card over the map
            if topology:  # the tab is below the fold: the window as a person sees it
                shot = SCREENSHOTS / "topology-tab.png"
                page.screenshot(path=str(shot))
            else:
                shot = explorer.screenshot("readme-page")
            browser.close()
            assert log.errors == [], f"console errors: {log.errors}"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path, help="a workspace with the default digits model")
    parser.add_argument(
        "--topology", action="store_true", help="the Topology tab with an H0 bar pressed"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"default: {OUT.relative_to(ROOT)} ({TOPOLOGY_OUT.relative_to(ROOT)} with --topology)",
    )
    args = parser.parse_args()
    out = args.out or (TOPOLOGY_OUT if args.topology else OUT)
    print(f"wrote {make_screenshot(args.workspace, out, args.topology)}")


if __name__ == "__main__":
    main()

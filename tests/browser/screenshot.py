"""The docs' screenshots, made with the browser tests' own machinery: a real server on a
workspace, Debian's Chromium at 1280x800. docs/img/page.png: the page opened and probed between
points as `test_map.py` does; docs/img/topology.png (--topology): the Topology tab with its
longest H0 bar pressed. Run it on the default digits model, not the tests' tiny one:

    python -m app train --out /tmp/ws        # the default digits VAE (latent 8, 32x32)
    python -m tests.browser.screenshot /tmp/ws
    python -m tests.browser.screenshot /tmp/ws --topology   # the Topology tab, a bar pressed

It writes nothing into the workspace (the server never does)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.browser.conftest import CHROMIUM_ARGS, Explorer, PageLog
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


def press_longest_h0_bar(explorer: Explorer) -> None:
    from tests.browser.test_topology import press_bar

    page = explorer.page
    explorer.open("?tab=topology")
    page.wait_for_selector("#panel-topology[data-model]", timeout=300_000)
    press_bar(page, 0, 1)  # the longest finite H0 bar (the infinite one is drawn first)
    page.wait_for_selector("#panel-topology[data-picked^='0:']")
    page.locator("#topo-plot").scroll_into_view_if_needed()


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
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            log = PageLog(server.base)
            page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
            explorer = Explorer(page, log, server.base)
            (press_longest_h0_bar if topology else probe_between_points)(explorer)
            page.mouse.move(5, 5)  # no hover card over the map
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
        "--topology", action="store_true", help="the Topology tab with its longest H0 bar pressed"
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

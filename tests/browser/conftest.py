"""Browser fixtures: a real uvicorn server on the session's trained model, and Chromium driven
by Playwright. A missing Chromium fails the tests with a clear message: it never skips them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.serverproc import ROOT, running_server

SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="package")
def server(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m app serve` as a subprocess on a free port; its base URL once healthy."""
    with running_server(workspace, tmp_path_factory.mktemp("server")) as process:
        yield process.base


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed, and the browser tests need it: install Debian's "
            "`chromium` package (apt-get install chromium). Playwright's own browser "
            "downloads are not used."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright for Python is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class PageLog:
    """What a page did that the tests check: every request and every console error."""

    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def expect_error(self, text: str) -> None:
        """Take out the console errors holding text (a 4xx the test provoked on purpose)."""
        found = [e for e in self.errors if text in e]
        assert found, f"no console error with {text!r} in {self.errors}"
        self.errors = [e for e in self.errors if text not in e]

    def outside(self) -> list[str]:
        app = urlsplit(self.base).netloc
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != app
        ]


@dataclass
class Explorer:
    """A fresh page on the explorer, with its log."""

    page: Any
    log: PageLog
    base: str

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base}/{query}")
        self.page.wait_for_selector("body[data-ready='true']", timeout=30_000)
        self.page.wait_for_selector("#map[data-ready='true']")

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="package")
def context(browser: Any) -> Iterator[Any]:
    """One fresh browser context (its own profile) for the session: pages share its HTTP cache,
    so plotly.js is fetched once."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    yield context
    context.close()


def new_explorer(context: Any, server: str, width: int, height: int) -> Iterator[Explorer]:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    log = PageLog(server)
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.set_default_timeout(15_000)
    try:
        yield Explorer(page, log, server)
    finally:
        page.close()
    # Every test also holds to these two promises of the page.
    assert log.outside() == [], f"requests left the app: {log.outside()}"
    assert log.errors == [], f"console errors: {log.errors}"


@pytest.fixture
def explorer(context: Any, server: str) -> Iterator[Explorer]:
    """The explorer at 1280x800."""
    yield from new_explorer(context, server, 1280, 800)


@pytest.fixture
def narrow_explorer(context: Any, server: str) -> Iterator[Explorer]:
    """The explorer on a narrow screen, 400x800."""
    yield from new_explorer(context, server, 400, 800)


@pytest.fixture
def phone_explorer(context: Any, server: str) -> Iterator[Explorer]:
    """The explorer on a phone's screen, 390x844."""
    yield from new_explorer(context, server, 390, 844)

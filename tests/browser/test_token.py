"""A server started with an access token, in a real Chromium: nothing without the token; the
page opened once as /?token=... works whole (its scripts, API calls and the drag WebSocket)
on the cookie that answer sets, and the token leaves the address bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import PLOT_BOX
from tests.serverproc import ServerProcess, running_server

TOKEN = "Tok3n_for-the-browser-test"


@pytest.fixture(scope="module")
def token_server(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    # Through the environment, as the README advises (a --token flag shows in `ps`).
    log_dir = tmp_path_factory.mktemp("token-server")
    with running_server(workspace, log_dir, env={"LATENT_EXPLORER_TOKEN": TOKEN}) as server:
        yield server


def test_the_page_opened_once_with_the_token_works_on_its_cookie(
    browser: Any, token_server: ServerProcess
) -> None:
    base = token_server.base
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        # Asked for without the token (a plain request, so no navigation of the page below
        # leaves a late favicon fetch behind): the error shape, and no cookie.
        refused = context.request.get(f"{base}/")
        assert refused.status == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert context.cookies() == []

        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        opened = page.goto(f"{base}/?token={TOKEN}")
        assert opened is not None and opened.status == 200
        page.wait_for_selector("body[data-ready='true']")
        page.wait_for_selector("#map[data-ready='true']")
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert TOKEN not in cookie["value"]  # a digest, not the token
        page.wait_for_function("() => !location.search.includes('token=')")

        # The drag WebSocket opens on the cookie too: frames arrive.
        box = page.evaluate(PLOT_BOX)
        x0, y0 = box["x"] + 0.3 * box["w"], box["y"] + 0.4 * box["h"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(x0 + 0.03 * box["w"] * i, y0 + 0.02 * box["h"] * i)
            page.wait_for_timeout(20)
        page.wait_for_timeout(200)
        frames = int(page.get_attribute("#preview-image", "data-frames") or 0)
        page.mouse.up()
        assert frames >= 3, f"{frames} drag frames over a cookie-authorised WebSocket"
        assert errors == [], f"console errors: {errors}"

        # A client without the cookie is still refused, even on the same server.
        fresh = browser.new_context()
        try:
            response = fresh.request.get(f"{base}/api/models")
            assert response.status == 401
        finally:
            fresh.close()
    finally:
        context.close()

"""The API documentation, /docs (Swagger UI) and /redoc (ReDoc), renders in a real Chromium
with no request leaving the host: its scripts, styles, favicon and fonts are served locally."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PageLog


def abort_outside(route: Any, server: str) -> None:
    """Refuse every request that leaves the host, as a machine without internet would: a
    page that still needed one fails to render rather than pass on a cached copy."""
    if urlsplit(route.request.url).netloc == urlsplit(server).netloc:
        route.continue_()
    else:
        route.abort()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        # Swagger UI draws one block per operation once it has read /openapi.json.
        ("/docs", ".swagger-ui .opblock"),
        # ReDoc draws one section per operation, each with its own id.
        ("/redoc", "[data-section-id^='operation/']"),
    ],
)
def test_the_api_docs_render_offline(context: Any, server: str, path: str, rendered: str) -> None:
    page = context.new_page()
    log = PageLog(server)
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    try:
        page.route("**/*", lambda route: abort_outside(route, server))
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 200
        page.wait_for_selector(rendered, timeout=30_000)
        operations = page.locator(rendered).count()
        assert operations >= 15, f"{path} shows only {operations} operations"
        assert "Latent Explorer" in page.title()
        html = page.content()
        assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html
    finally:
        page.close()
    assert log.outside() == [], f"requests left the host: {log.outside()}"
    assert log.errors == [], f"console errors: {log.errors}"

"""The optional access token: with one set, every endpoint, static file, the page and the
WebSocket need it (header, cookie or query); without it or with a wrong one, a 401 in the one
error shape (a WebSocket is refused before it is accepted). And the warning `serve` prints
when it listens beyond this machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app import cli
from app.config import Settings
from app.main import create_app
from app.middleware import TOKEN_COOKIE
from tests.api.helpers import assert_error

TOKEN = "s3cret-T0ken/+=&%~"  # characters a URL must escape, on purpose
API = "/api/models/digits-vae-4"
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"

# Everything the server serves: API (GET and POST), the page, its files, and the docs.
GETS = [
    "/api/health",
    "/api/models",
    f"{API}/points",
    f"{API}/items/0/image",
    "/",
    "/static/js/api.js",
    "/static/css/app.css",
    "/vendor/plotly.min.js",
    "/docs",
    "/openapi.json",
]


@pytest.fixture(scope="module")
def token_app(settings: Settings) -> Iterator[FastAPI]:
    """An app with a token, its models loaded (the lifespan runs for the module)."""
    app = create_app(settings.model_copy(update={"token": TOKEN}))
    with TestClient(app):
        yield app


@pytest.fixture
def fresh(token_app: FastAPI) -> Callable[[], TestClient]:
    """A new client (an empty cookie jar) on the running token app."""
    return lambda: TestClient(token_app)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def quoted(token: str = TOKEN) -> str:
    return urlencode({"token": token})


def assert_401(response: httpx.Response, problem: str) -> None:
    message = assert_error(response, 401, "unauthorized")
    assert message.startswith(problem), message
    assert "Authorization: Bearer <token>" in message and "/?token=<token>" in message
    assert response.headers["www-authenticate"] == 'Bearer realm="latent-explorer"'
    assert "set-cookie" not in response.headers
    assert TOKEN not in response.text


@pytest.mark.parametrize("path", GETS)
def test_every_get_needs_the_token(fresh: Callable[[], TestClient], path: str) -> None:
    assert_401(fresh().get(path), "an access token is needed")
    assert fresh().get(path, headers=bearer()).status_code == 200


def test_posts_need_it_too_and_are_not_read_without_it(fresh: Callable[[], TestClient]) -> None:
    big = b"\0" * 3_000_000  # past max_upload_bytes: refused as unauthorised, not as too big
    assert_401(fresh().post(f"{API}/encode", files={"file": ("a.png", big)}), "an access")
    assert_401(fresh().post(f"{API}/decode", json={"id": 0}), "an access token is needed")
    response = fresh().post(f"{API}/decode", json={"id": 0}, headers=bearer())
    assert response.status_code == 200 and len(response.json()["latent"]) == 4


@pytest.mark.parametrize(
    "headers",
    [
        bearer(TOKEN[:-1]),  # one character short
        bearer(TOKEN + "x"),
        bearer(TOKEN.upper()),
        {"Authorization": "Bearer "},
        {"Cookie": f"{TOKEN_COOKIE}={'0' * 64}"},
    ],
    ids=["short", "long", "case", "empty", "cookie"],
)
def test_a_wrong_token_is_401(fresh: Callable[[], TestClient], headers: dict[str, str]) -> None:
    assert_401(fresh().get("/api/models", headers=headers), "the access token is wrong")


def test_other_schemes_and_the_bare_token_as_cookie_do_not_count(
    fresh: Callable[[], TestClient],
) -> None:
    basic = {"Authorization": f"Basic {TOKEN}"}
    assert_401(fresh().get("/api/models", headers=basic), "an access token is needed")
    # The cookie holds a digest of the token; the token itself there is not accepted.
    raw = {"Cookie": f"{TOKEN_COOKIE}={TOKEN}"}
    assert_401(fresh().get("/api/models", headers=raw), "the access token is wrong")
    lower = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive (RFC 9110)
    assert fresh().get("/api/models", headers=lower).status_code == 200


def test_the_page_opened_with_the_token_sets_a_cookie_for_everything_else(
    fresh: Callable[[], TestClient],
) -> None:
    browser = fresh()
    page = browser.get(f"/?{quoted()}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    set_cookie = page.headers["set-cookie"]
    name, value = set_cookie.split(";")[0].split("=", 1)
    assert name == TOKEN_COOKIE
    assert re.fullmatch(r"[0-9a-f]{64}", value)  # a digest, never the token itself
    attributes = {a.strip() for a in set_cookie.split(";")[1:]}
    assert attributes == {"Path=/", "HttpOnly", "SameSite=Strict"}  # no Secure over plain http
    # What the page then loads, with the cookie alone (no header, no query).
    for path in ["/static/js/main.js", "/vendor/plotly.min.js", f"{API}/points", "/"]:
        assert browser.get(path).status_code == 200, path
    assert browser.post(f"{API}/neighbors", json={"id": 3, "k": 2}).json()["ids"]
    with browser.websocket_connect(f"{API}/drag") as socket:
        socket.send_json({"x": 0.0, "y": 0.0, "seq": 1})
        assert socket.receive_json()["seq"] == 1
    # Authorised by the cookie or a header, a response sets no cookie.
    assert "set-cookie" not in browser.get("/").headers
    assert "set-cookie" not in fresh().get("/", headers=bearer()).headers


def test_a_wrong_query_token_sets_no_cookie(fresh: Callable[[], TestClient]) -> None:
    browser = fresh()
    assert_401(browser.get(f"/?{quoted('guess')}"), "the access token is wrong")
    assert not browser.cookies
    assert_401(browser.get("/api/models"), "an access token is needed")


def test_over_https_the_cookie_is_secure(token_app: FastAPI) -> None:
    browser = TestClient(token_app, base_url="https://explorer.example")
    cookie = browser.get(f"/?{quoted()}").headers["set-cookie"]
    assert "Secure" in {a.strip() for a in cookie.split(";")}


def test_the_websocket_is_refused_before_it_is_accepted(
    fresh: Callable[[], TestClient],
) -> None:
    for url, headers in [
        (f"{API}/drag", {}),
        (f"{API}/drag?{quoted('guess')}", {}),
        (f"{API}/drag", bearer("guess")),
    ]:
        with pytest.raises(WebSocketDisconnect) as refused:
            with fresh().websocket_connect(url, headers=headers):
                pass
        assert refused.value.code == 1008  # policy violation
    for url, headers in [(f"{API}/drag?{quoted()}", {}), (f"{API}/drag", bearer())]:
        with fresh().websocket_connect(url, headers=headers) as socket:
            socket.send_json({"x": 0.5, "y": 0.5, "seq": 7})
            frame = socket.receive_json()
            assert frame["seq"] == 7 and len(frame["latent"]) == 4


def test_without_a_token_nothing_is_asked(client: TestClient) -> None:
    assert client.get("/api/models").status_code == 200
    assert "set-cookie" not in client.get(f"/?{quoted()}").headers


def test_the_page_talks_to_its_own_origin_only() -> None:
    """The cookie reaches the API only if the page's requests are same-origin: fetch with
    default credentials on absolute paths of this server, and the WebSocket to location.host.
    (The JS is not changed for the token: it never sees it.)"""
    source = (STATIC_JS / "api.js").read_text()
    assert re.findall(r"\bfetch\(([^,)]*)", source) == ["path"]  # in request(path, init)
    assert "credentials" not in source  # the default, "same-origin", sends the cookie
    assert "const modelPath = (model) => `/api/models/${enc(model)}`;" in source
    paths = re.findall(r"\bsend\(\s*\"[A-Z]+\",\s*([^,)]+)", source)
    paths += re.findall(r"\bsendForBuffer\(\s*(`[^,)]+)", source)  # calls, not its definition
    assert len(paths) >= 12, paths
    for path in paths:
        assert path.startswith(('"/api/', "`/api/", "`${modelPath(")), path
    assert "`${scheme}//${location.host}${modelPath(model)}/drag" in source
    everything = "".join(p.read_text() for p in STATIC_JS.glob("*.js"))
    assert "http://" not in everything and "https://" not in everything
    assert "fetch(" not in everything.replace(source, "")  # api.js is the only one talking


# -- the bind warning --------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> list[dict[str, Any]]:
    """Run `serve` with uvicorn.run replaced: the settings it would have served with."""
    calls: list[dict[str, Any]] = []

    def run(app: FastAPI, **kwargs: Any) -> None:
        calls.append({"settings": app.state.settings, **kwargs})

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.delenv("LATENT_EXPLORER_TOKEN", raising=False)
    return calls


def serve(workspace: Path, *args: str) -> int:
    command = ["serve", "--workspace", str(workspace), "--device", "cpu", "--threads", "2"]
    return cli.main([*command, *args])


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_is_served_without_a_warning(
    served: list[dict[str, Any]],
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    host: str,
) -> None:
    assert serve(workspace, "--host", host) == 0
    assert served[0]["host"] == host
    assert "warning" not in capsys.readouterr().err


def test_the_default_is_loopback(
    served: list[dict[str, Any]], workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve(workspace) == 0
    assert served[0]["host"] == "127.0.0.1" and served[0]["settings"].token is None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "explorer.lan"])
def test_other_addresses_warn_that_anyone_can_use_it(
    served: list[dict[str, Any]],
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    host: str,
) -> None:
    assert serve(workspace, "--host", host, "--port", "8123") == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {host}:8123 is reachable from other machines, and no ")
    assert "anyone who can reach it can use it" in err and "LATENT_EXPLORER_TOKEN" in err
    assert err.count("\n") == 1


def test_with_a_token_the_warning_says_it_is_required(
    served: list[dict[str, Any]],
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert serve(workspace, "--host", "0.0.0.0", "--token", TOKEN) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 0.0.0.0:8000 is reachable from other machines; every ")
    assert "must carry the access token" in err and "TLS" in err
    assert TOKEN not in err
    assert served[0]["settings"].token == TOKEN
    monkeypatch.setenv("LATENT_EXPLORER_TOKEN", "from-the-environment")
    assert serve(workspace, "--host", "0.0.0.0") == 0
    assert served[1]["settings"].token == "from-the-environment"
    assert "must carry the access token" in capsys.readouterr().err
    assert "from-the-environment" not in repr(served[1]["settings"])  # kept out of logs


def test_an_empty_token_is_an_error_not_an_open_door(
    served: list[dict[str, Any]],
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LATENT_EXPLORER_TOKEN", "")
    assert serve(workspace, "--host", "0.0.0.0") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: setting 'token': ") and "visible ASCII" in err
    assert err.count("\n") == 1 and served == []

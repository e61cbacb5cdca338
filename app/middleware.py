"""Pure ASGI middleware: request body size limit, a cap on requests in flight, and the
optional access token."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_body
from models.errors import (
    LatentExplorerError,
    OverloadedError,
    TooLargeError,
    UnauthorizedError,
)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-stream; an HTTPException so FastAPI's form parsing lets it
    through unchanged (it wraps any other exception in a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than the limit of {limit:,} bytes")


async def _send_error(send: Send, exc: LatentExplorerError, headers: list[Any]) -> None:
    """Answer with ``exc`` in the one error shape, before the app sees the request."""
    payload = json.dumps(error_body(exc)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``: at once from Content-Length, or while streaming
    (chunked uploads without Content-Length), so memory stays bounded either way."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    message = f"request body is larger than the limit of {self.max_bytes:,} bytes"
                    await _send_error(send, TooLargeError(message), [(b"connection", b"close")])
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class InflightLimitMiddleware:
    """Past ``limit`` concurrent API requests, answer 503 at once instead of queueing without
    bound. Health checks and static files are never refused."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path == "/api/health":
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.limit:
            message = (
                f"the server is busy (limit of {self.limit} requests in flight); retry in a moment"
            )
            await _send_error(send, OverloadedError(message), [(b"retry-after", b"1")])
            return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1


TOKEN_COOKIE = "latent_explorer_token"
_HOW = (
    "send the header 'Authorization: Bearer <token>', or open the page once as "
    "/?token=<token> (which sets a cookie for the page's own requests)"
)


class TokenMiddleware:
    """With an access token set, every HTTP request and WebSocket must carry it: as
    ``Authorization: Bearer <token>``, as the cookie, or as ``?token=<token>``.

    A request authorised by ``?token=`` gets the cookie (HttpOnly, SameSite=Strict), so a page
    opened as ``/?token=...`` makes its own fetches and WebSocket without ever handling the
    token in JavaScript. The cookie holds a digest of the token rather than the token, so it
    is always cookie-safe and a copied cookie does not give away the token itself. Anything
    else is a 401 in the one error shape; a WebSocket is closed (1008) before it is accepted.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()
        digest = hashlib.sha256(b"latent-explorer cookie\0" + self.token).hexdigest()
        self.cookie = digest.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented = _credentials(scope)
        by = self._authorised_by(presented)
        if by is None:
            problem = "the access token is wrong" if presented else "an access token is needed"
            message = f"{problem}: {_HOW}"
            if scope["type"] == "websocket":
                await receive()  # websocket.connect; closing now refuses the handshake
                await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
                return
            await _send_error(
                send,
                UnauthorizedError(message),
                [(b"www-authenticate", b'Bearer realm="latent-explorer"')],
            )
            return
        if by == "query" and scope["type"] == "http":
            send = self._setting_cookie(scope, send)
        await self.app(scope, receive, send)

    def _authorised_by(self, presented: list[tuple[str, bytes]]) -> str | None:
        """Where the first matching credential came from; None if none matches."""
        for where, value in presented:
            expected = self.cookie if where == "cookie" else self.token
            if hmac.compare_digest(value, expected):  # constant time: no timing oracle
                return where
        return None

    def _setting_cookie(self, scope: Scope, send: Send) -> Send:
        attributes = "; Path=/; HttpOnly; SameSite=Strict"
        if scope.get("scheme") in ("https", "wss"):
            attributes += "; Secure"
        header = (b"set-cookie", f"{TOKEN_COOKIE}=".encode() + self.cookie + attributes.encode())

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        return send_with_cookie


def _credentials(scope: Scope) -> list[tuple[str, bytes]]:
    """Every token the request presents, with where it came from (header, cookie, query)."""
    found: list[tuple[str, bytes]] = []
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, credential = value.partition(b" ")
            if scheme.lower() == b"bearer":
                found.append(("header", credential.strip()))
        elif key == b"cookie":
            cookie = cookie_parser(value.decode("latin-1")).get(TOKEN_COOKIE)
            if cookie is not None:
                found.append(("cookie", cookie.encode("latin-1")))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "token":
            found.append(("query", value.encode()))
    return found

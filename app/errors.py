"""One JSON error shape for every error the API returns, made by one function.

    {"error": {"status": 404, "code": "unknown_model", "message": "no model named 'x': ..."}}

Services raise ``LatentExplorerError`` subclasses (models/errors.py), which carry their
``status`` and ``code``. ``error_body`` turns any exception into the shape: those errors,
FastAPI's own validation and routing errors, and (as a 500) anything unexpected. The HTTP
handlers, the middleware and the drag WebSocket all answer with it. docs/errors.md lists which
status each kind of mistake gets. Nothing a user sends produces a 500, except a failure of an
imported model's own code (``model_error``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.schemas import ErrorOut
from models.errors import LatentExplorerError

log = logging.getLogger(__name__)


def error_body(exc: BaseException) -> dict[str, Any]:
    """``{"error": {"status", "code", "message"}}`` (app.schemas.ErrorOut) for any exception."""
    status, code, message = _describe_error(exc)
    return {"error": {"status": status, "code": code, "message": message}}


def error_response(exc: BaseException, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """``error_body`` as a response with its status (and Retry-After on 429 and 503)."""
    body = error_body(exc)
    status = body["error"]["status"]
    extra = {"Retry-After": "1"} if status in (429, 503) else {}
    return JSONResponse(body, status, headers={**extra, **(headers or {})})


def _describe_error(exc: BaseException) -> tuple[int, str, str]:
    if isinstance(exc, LatentExplorerError):
        return exc.status, exc.code, str(exc)
    if isinstance(exc, RequestValidationError):
        return 422, "invalid_input", _describe(list(exc.errors()))
    if isinstance(exc, StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page or API endpoint"
        if message == "There was an error parsing the body":  # FastAPI's, e.g. for non-UTF-8
            message += ": send a JSON object in UTF-8 (to /encode, a multipart form)"
        return exc.status_code, code, message
    return 500, "internal_error", "the server failed unexpectedly; see its log"


# What each error status means here, for the OpenAPI document (`error_responses`).
ERROR_DESCRIPTIONS = {
    400: "Malformed request: a body that cannot be parsed, a broken multipart form, or a "
    "damaged or truncated upload",
    401: "Missing or wrong access token (only when the server runs with one): send "
    "`Authorization: Bearer <token>`, or open the page once with `?token=<token>`",
    404: "Unknown model, item or attribute; or an item image of embeddings imported without "
    "images (`no_images`)",
    409: "The model cannot do this: precomputed embeddings have no encoder (`no_encoder`), and "
    "without a decoder there are no decoded images or reconstruction errors (`no_decoder`); "
    "two models on different datasets cannot be compared (`not_comparable`); the model already "
    "has `max_custom_attributes` user-defined attributes (`too_many_attributes`); the message "
    "says what works",
    413: "Request body over `max_upload_bytes`, or an image over `max_image_pixels`",
    415: "The upload is not a PNG, JPEG, GIF, WebP or BMP image (judged by its content)",
    422: "Invalid input: the message names the field and what is allowed",
    500: "The model itself failed (`model_error`): an imported model's own code raised or "
    "returned something unusable; the message names its step and line, the server's log has "
    "the traceback",
    503: "Too many requests in flight (`max_inflight`): retry after `Retry-After` seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these statuses, all in the one error shape."""
    return {
        status: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


# Every /api/models/... operation can answer these; routers add what is theirs alone (415).
API_ERRORS = error_responses(400, 401, 404, 413, 422, 500, 503)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "overloaded",
}


def _describe(errors: list[Any]) -> str:
    parts = []
    for err in errors[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def log_model_error(exc: LatentExplorerError, where: str) -> None:
    """Log a failure of the model itself (``model_error``) with the traceback of what the
    model's code raised: the one-line message is what the client gets, the traceback is for
    whoever runs the server."""
    cause = exc.__cause__ or exc.__context__ or exc
    log.error(
        "%s on %s: %s", exc.code, where, exc, exc_info=(type(cause), cause, cause.__traceback__)
    )


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path.

    Starlette's own 405 names only the methods of the first route whose path matched, so a
    path served by two routes (GET and POST .../attributes) would answer ``Allow: GET``.
    Each method is tried against the routes, which works however the routers are nested.
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LatentExplorerError)
    async def domain_error(request: Request, exc: LatentExplorerError) -> JSONResponse:
        if exc.status >= 500:
            log_model_error(exc, f"{request.method} {request.url.path}")
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})  # e.g. WWW-Authenticate on a 401
        if exc.status_code == 405 and (allowed := allowed_methods(request)):
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here: use {' or '.join(allowed)}"
            exc = StarletteHTTPException(405, message)
        return error_response(exc, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(exc)

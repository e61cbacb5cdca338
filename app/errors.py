"""One error vocabulary and one JSON error shape for every error the API returns.

    {"error": {"status": 404, "code": "unknown_model", "message": "no model named 'x': ..."}}

Services and routers raise ``LatentExplorerError`` subclasses that carry a ``status`` and a
``code`` as plain data (app/services/errors.py, app/services/images.py); this module turns them,
and FastAPI's own validation and routing errors, into that shape. Nothing a user sends
produces a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import LatentExplorerError

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message} | extra}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return JSONResponse(error_body(status, code, message, **extra), status, headers=headers)


HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LatentExplorerError)
    async def domain_error(_: Request, exc: LatentExplorerError) -> JSONResponse:
        status = int(getattr(exc, "status", 400))
        code = str(getattr(exc, "code", "bad_request"))
        return error_response(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_input", _describe(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page or API endpoint"
        return error_response(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "the server failed unexpectedly; see its log")

"""One error vocabulary: every error class carries its status and code, one function makes
the shape, and the same mistake gets the same answer over HTTP and over the WebSocket."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from app.errors import error_body
from models.errors import (
    BadRequestError,
    CheckpointError,
    ConflictError,
    InvalidInputError,
    LatentExplorerError,
    NotFoundError,
    OverloadedError,
    TooLargeError,
    UnauthorizedError,
    UnsupportedMediaError,
)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (BadRequestError("m"), 400, "bad_request"),
        (UnauthorizedError("m"), 401, "unauthorized"),
        (NotFoundError("m", code="unknown_item"), 404, "unknown_item"),
        (ConflictError("m", code="no_decoder"), 409, "no_decoder"),
        (TooLargeError("m"), 413, "payload_too_large"),
        (UnsupportedMediaError("m", code="unsupported_format"), 415, "unsupported_format"),
        (InvalidInputError("m"), 422, "invalid_input"),
        (OverloadedError("m"), 503, "overloaded"),
        (CheckpointError("m"), 400, "bad_request"),  # a model-layer error keeps the default
        (LatentExplorerError("m", status=404, code="x"), 404, "x"),
        (HTTPException(405, "m"), 405, "method_not_allowed"),
        (RequestValidationError([{"loc": ("body", "k"), "msg": "m"}]), 422, "invalid_input"),
        (KeyError("secret"), 500, "internal_error"),
    ],
)
def test_every_error_becomes_the_one_shape(exc: Exception, status: int, code: str) -> None:
    error = error_body(exc)["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"] and "secret" not in error["message"]


def test_an_unknown_projection_is_the_same_answer_over_http_and_the_websocket(
    client: TestClient, api: str
) -> None:
    http = client.get(f"{api}/points?projection=nope").json()
    with client.websocket_connect(f"{api}/drag") as ws:
        ws.send_text('{"x": 0, "y": 0, "projection": "nope"}')
        frame = ws.receive_json()
    with client.websocket_connect(f"{api}/drag?projection=nope") as ws:
        opening = ws.receive_json()
    assert http == frame == opening
    assert http["error"]["status"] == 422

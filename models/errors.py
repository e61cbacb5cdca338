"""The explorer's one error vocabulary.

Every error the explorer raises on purpose is a ``LatentExplorerError``: a one-line message
meant for a person (what was wrong and what is allowed), plus an HTTP ``status`` and a short
snake_case ``code`` that clients can branch on. The CLI prints the message without a
traceback; the API turns status, code and message into its one JSON error shape
(app/errors.py); docs/errors.md lists which status each kind of mistake gets.

The classes below differ only in their default status and code; a raise names its own
``code`` (``NotFoundError(..., code="unknown_item")``).
"""

from __future__ import annotations


class LatentExplorerError(Exception):
    """Base class for every error the explorer raises on purpose."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


# ---- mistakes in a request (the API's 4xx) -----------------------------------------------


class BadRequestError(LatentExplorerError):
    """A request that cannot be read at all: a damaged or truncated upload, a broken body."""

    status = 400
    code = "bad_request"


class NotFoundError(LatentExplorerError):
    """Something named that does not exist: a model, an item, an attribute, stored images."""

    status = 404
    code = "not_found"


class ConflictError(LatentExplorerError):
    """The model lacks what the request needs: an encoder (precomputed embeddings) for an
    upload, a decoder for a decoded image; or two models that cannot be compared. The message
    says what works instead."""

    status = 409
    code = "conflict"


class TooLargeError(LatentExplorerError):
    """An upload over a size limit (bytes or pixels)."""

    status = 413
    code = "payload_too_large"


class UnauthorizedError(LatentExplorerError):
    """A missing or wrong access token (only when the server runs with one)."""

    status = 401
    code = "unauthorized"


class UnsupportedMediaError(LatentExplorerError):
    """An upload that is not an accepted image format, judged by its content."""

    status = 415
    code = "unsupported_media_type"


class InvalidInputError(LatentExplorerError):
    """A readable request with a value that is not allowed: out of range, the wrong length,
    not finite, or not one of the allowed choices (a projection, a metric, a method)."""

    status = 422
    code = "invalid_input"


class OverloadedError(LatentExplorerError):
    """Too many requests in flight: the client should retry shortly."""

    status = 503
    code = "overloaded"


# ---- problems with the models and data on disk -------------------------------------------


class DatasetError(LatentExplorerError):
    """A dataset name, folder or file that cannot be used."""


class CheckpointError(LatentExplorerError):
    """A checkpoint folder that is missing, truncated, mismatched or tampered with."""


class ConfigError(LatentExplorerError):
    """An impossible setting: unknown architecture, latent size 0, image size 1000 px..."""


class ModelCodeError(LatentExplorerError):
    """An imported model (the user's own class or ONNX file) that cannot be imported, raised,
    or returned something of the wrong shape; the message names the step and the file:line.

    While serving, the model itself failed, not the request: the one 500 the API answers on
    purpose (``model_error``), with the traceback in the server's log."""

    status = 500
    code = "model_error"

"""Errors the services raise. They carry an HTTP-style status as plain data so the API layer
can map them, while the services themselves stay free of any web framework."""

from __future__ import annotations

from models.errors import LatentExplorerError


class ServiceError(LatentExplorerError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class InvalidInputError(ServiceError):
    status = 422
    code = "invalid_input"


class UnsupportedError(ServiceError):
    """The model cannot do what was asked (e.g. a projection it does not have)."""

    status = 400
    code = "unsupported"


class ConflictError(ServiceError):
    """The model lacks what the request needs: an encoder (precomputed embeddings) for an
    upload, a decoder for a decoded image. The message says what works instead."""

    status = 409
    code = "conflict"

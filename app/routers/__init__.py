"""Every router, included by create_app from this one list."""

from __future__ import annotations

from app.routers import (
    arithmetic,
    attributes,
    compare,
    decode,
    denoise,
    docs,
    drag,
    encode,
    health,
    interpolate,
    models,
    neighbors,
    outliers,
    pages,
    topology,
    traverse,
)

ROUTERS = [
    health.router,
    models.router,
    encode.router,
    decode.router,
    interpolate.router,
    attributes.router,
    arithmetic.router,
    neighbors.router,
    traverse.router,
    outliers.router,
    topology.router,
    compare.router,
    denoise.router,
    drag.router,
    pages.router,
    docs.router,
]

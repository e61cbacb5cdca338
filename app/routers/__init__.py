"""Every router, included by create_app from this one list."""

from __future__ import annotations

from app.routers import (
    anomaly,
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
    search,
    selection,
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
    search.router,
    selection.router,
    anomaly.router,
    topology.router,
    compare.router,
    denoise.router,
    drag.router,
    pages.router,
    docs.router,
]

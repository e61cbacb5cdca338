"""Service results -> response schemas (shared by the routers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.schemas import NeighboursOut, PlacedOut, RefIn
from app.services.images import png_data_url
from app.services.results import Neighbours, Placed, Ref


def ref(body: RefIn) -> Ref:
    return Ref(id=body.id, latent=body.latent, point=body.point, projection=body.projection)


def neighbours_out(n: Neighbours | None) -> NeighboursOut | None:
    if n is None:
        return None
    return NeighboursOut(ids=n.ids, distances=n.distances, metric=n.metric, exact=n.exact)


def image_out(image: np.ndarray | None) -> str | None:
    """A PNG data URL, or None where there is no image (nearest items stored without one)."""
    return None if image is None else png_data_url(image)


def nearest_out(p: Placed) -> dict[str, Any]:
    """The ``image_source`` fields of a placed latent: decoded, or the nearest item's."""
    if p.nearest is None:
        return {"image_source": "decoded"}
    near = p.nearest
    return {
        "image_source": "nearest",
        "nearest_id": int(near.ids[0]),
        "nearest_name": near.names[0],
    }


def placed_out(p: Placed) -> PlacedOut:
    return PlacedOut(
        latent=p.latent.tolist(),
        positions=p.positions,
        image=image_out(p.image),
        neighbours=neighbours_out(p.neighbours),
        **nearest_out(p),
    )

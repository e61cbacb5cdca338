"""Service results -> response schemas (shared by the routers)."""

from __future__ import annotations

from app.schemas import NeighboursOut, PlacedOut, RefIn
from app.services.explorer import Neighbours, Placed, Ref
from app.services.images import png_data_url


def ref(body: RefIn) -> Ref:
    return Ref(id=body.id, latent=body.latent, point=body.point, projection=body.projection)


def neighbours_out(n: Neighbours | None) -> NeighboursOut | None:
    if n is None:
        return None
    return NeighboursOut(ids=n.ids, distances=n.distances, metric=n.metric, exact=n.exact)


def placed_out(p: Placed) -> PlacedOut:
    return PlacedOut(
        latent=p.latent.tolist(),
        positions=p.positions,
        image=png_data_url(p.image),
        neighbours=neighbours_out(p.neighbours),
    )

"""Request bodies -> service inputs, service results -> response bodies (for the routers)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from app.schemas import (
    AttributeOut,
    DataDistanceOut,
    EncodedOut,
    InterpolateOut,
    NeighboursOut,
    PlacedOut,
    RefIn,
    TraverseOut,
    TraverseRowOut,
)
from app.services.attributes import Attribute
from app.services.images import png_data_url
from app.services.refs import Ref
from app.services.results import Encoded, FromData, LatentPath, Neighbors, Placed
from app.services.traversal import TraversalRow


def ref(body: RefIn) -> Ref:
    return Ref(id=body.id, latent=body.latent, point=body.point, projection=body.projection)


def neighbors_out(n: Neighbors) -> NeighboursOut:
    return NeighboursOut(ids=n.ids, distances=n.distances, metric=n.metric, exact=n.exact)


def data_distance_out(f: FromData) -> DataDistanceOut:
    return DataDistanceOut(**asdict(f))


def data_distances_out(fs: list[FromData] | None) -> list[DataDistanceOut] | None:
    return None if fs is None else [data_distance_out(f) for f in fs]


def image_out(image: np.ndarray | None) -> str | None:
    """A PNG data URL, or None where there is no image (nearest items stored without one)."""
    return None if image is None else png_data_url(image)


def nearest_out(p: Placed) -> dict[str, Any]:
    """The ``image_source`` fields of a placed latent: decoded (by the model's own decoder or
    a fitted one), or the nearest item's."""
    if p.nearest is None:
        return {"image_source": p.image_source}
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
        neighbours=None if p.neighbors is None else neighbors_out(p.neighbors),
        data_distance=None if p.from_data is None else data_distance_out(p.from_data),
        **nearest_out(p),
    )


def encoded_out(e: Encoded) -> EncodedOut:
    assert e.input_image is not None
    return EncodedOut(
        **placed_out(e).model_dump(),
        reconstruction_error=e.reconstruction_error,
        error_percentile=e.error_percentile,
        knn_score=e.knn_score,
        input=png_data_url(e.input_image),
        filename=e.filename,
    )


def path_out(path: LatentPath) -> InterpolateOut:
    # None: the nearest items have no images (embeddings imported without them)
    steps = path.images if path.images is not None else [None] * len(path.latents)
    return InterpolateOut(
        method=path.method,
        projection=path.projection,
        latents=path.latents.tolist(),
        positions=[(float(x), float(y)) for x, y in path.positions],
        images=[image_out(image) for image in steps],
        data_distances=data_distances_out(path.from_data),
        **_nearest_steps(path),
    )


def _nearest_steps(path: LatentPath) -> dict[str, Any]:
    """The ``image_source`` fields of a path: decoded, or each step's nearest item."""
    if path.nearest is None:
        return {"image_source": path.image_source}
    ids = [int(i) for i in path.nearest.ids]
    return {"image_source": "nearest", "nearest_ids": ids, "nearest_names": path.nearest.names}


def attribute_out(a: Attribute) -> AttributeOut:
    return AttributeOut(
        id=a.id,
        name=a.name,
        kind=a.kind,  # type: ignore[arg-type]
        field=a.field,
        vector=a.vector.tolist(),
        effect_size=a.effect_size,
        n_a=a.n_a,
        n_b=a.n_b,
    )


def traversal_out(rows: list[TraversalRow]) -> TraverseOut:
    return TraverseOut(
        rows=[
            TraverseRowOut(
                label=row.label,
                offsets=row.offsets.tolist(),
                images=[png_data_url(im) for im in (row.images if row.images is not None else [])],
                data_distances=data_distances_out(row.from_data),
            )
            for row in rows
        ]
    )

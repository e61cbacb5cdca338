"""How far decoded latents are from the data: the distance to the nearest item's latent, its
percentile among the items' own nearest-item distances, and a label (app/index/data_distance.py),
so a person knows when a decoded image is an extrapolation."""

from __future__ import annotations

import numpy as np

from app.index.data_distance import knn_distance
from app.services.loaded import LoadedModel
from app.services.results import FromData


def from_data(m: LoadedModel, latents: np.ndarray) -> list[FromData] | None:
    """(B, D) latents -> how far each is from the nearest item (euclidean); None for a model
    whose items cannot be measured (a single item)."""
    fitted = m.data_distance()
    if fitted is None:
        return None
    distances = knn_distance(m.neighbor_index("euclidean"), latents, 1)  # (B,)
    percentiles = fitted.percentile(distances)  # (B,)
    return [
        FromData(float(d), float(p), fitted.placement(float(d)))
        for d, p in zip(distances, percentiles, strict=True)
    ]

"""The dataset items nearest to a place in latent space (exact, or approximate at scale)."""

from __future__ import annotations

import numpy as np

from app.index.neighbors import NeighborIndex
from app.services.loaded import LoadedModel
from app.services.refs import MAX_K, Ref, resolve
from app.services.results import Neighbors
from models.errors import InvalidInputError

METRICS = ("euclidean", "cosine")


def search_neighbors(
    m: LoadedModel,
    latent: np.ndarray,
    k: int,
    metric: str = "euclidean",
    exclude: int | None = None,
) -> Neighbors:
    """The ``k`` items nearest the (D,) ``latent`` by ``metric``, ``exclude`` left out."""
    if metric not in METRICS:
        raise InvalidInputError(
            f"unknown metric {metric[:40]!r}: choose euclidean or cosine", code="bad_metric"
        )
    k_max = min(MAX_K, len(m.index) - (1 if exclude is not None else 0))
    if not 1 <= k <= k_max:
        raise InvalidInputError(f"k must be from 1 to {k_max}, got {k}", code="bad_k")
    search = m.neighbor_index(metric)
    ids, dist = search.query(latent[None], k, exclude=exclude)
    exact = isinstance(search, NeighborIndex)
    return Neighbors(ids[0].tolist(), [float(d) for d in dist[0]], metric, exact)


def find_neighbors(m: LoadedModel, ref: Ref, k: int, metric: str) -> Neighbors:
    """POST .../neighbors: the items nearest a ref; an item is not its own neighbor."""
    latent = resolve(m, ref, "query")
    return search_neighbors(m, latent, k, metric, exclude=ref.id)

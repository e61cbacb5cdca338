"""Where can a 2D map be trusted? Per item and per projection, the faithfulness of the map.

The faithfulness of item i on a map is the fraction of its k nearest latent neighbours (k = 10,
the item itself excluded) that are also among its k nearest neighbours on the map: 1.0 where
the map keeps the neighbourhood intact, near k / N where it tears it apart (a map with no
relation to the latents). Its mean per projection sits next to trustworthiness in the quality
figures; the per-item values colour the map.

The latent neighbours are found once and shared by every projection. Below
``EXACT_MAX_ITEMS`` items they are exact (scikit-learn picks a k-d tree or a blocked BLAS scan
by dimension); from there on they come from the calibrated FAISS IVF index
(`ApproxNeighborIndex`, recall@10 >= 0.97 on its calibration sample), because an exact
all-pairs search grows with N squared: tens of seconds at 70,000 latents, far longer at a
million. Map neighbours are always exact: a 2D k-d tree answers a million queries in seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from models.errors import ConfigError

log = logging.getLogger(__name__)

K = 10  # neighbours compared per item (trustworthiness uses the same 10)
# Measured on 2 shared cores, 70,000 clustered latents, two maps: exact 10 s at 10 dims and
# 25 s at 32; with the FAISS index 4.6 s and 6.6 s, recall@10 0.991 and 0.996 against exact.
# A million 16-dim latents: 224 s. Below this many items exact search takes seconds.
EXACT_MAX_ITEMS = 50_000
_CHUNK = 65_536  # rows per overlap block: (B, k, k) booleans stay a few MB


def item_faithfulness(
    latents: npt.ArrayLike,
    embeddings: Mapping[str, npt.ArrayLike],
    k: int = K,
    *,
    exact_max_items: int = EXACT_MAX_ITEMS,
) -> dict[str, npt.NDArray[np.float32]]:
    """{projection: (N,) float32 faithfulness} for every map in ``embeddings``.

    Args:
        latents: (N, D) latents.
        embeddings: projection name -> (N, 2) map positions of the same items.
        k: neighbours compared, 1..N-1.
        exact_max_items: from this many items on, the latent neighbours are approximate.
    """
    data = np.asarray(latents)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ConfigError(f"latents must have shape (N, D) with N >= 2; got {data.shape}")
    n = data.shape[0]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= n - 1:
        raise ConfigError(f"k must be an integer from 1 to {n - 1}; got {k!r}")
    for name, xy in embeddings.items():
        if np.shape(xy) != (n, 2):
            raise ConfigError(f"map {name!r} must have shape ({n}, 2); got {np.shape(xy)}")
    latent_nn = latent_neighbours(data, k, exact_max_items=exact_max_items)  # (N, k)
    return {
        name: (shared_counts(latent_nn, map_neighbours(np.asarray(xy), k)) / k).astype(np.float32)
        for name, xy in embeddings.items()
    }


def mean_faithfulness(values: Mapping[str, np.ndarray]) -> dict[str, float]:
    """{projection: mean faithfulness}: the figure stored with the quality figures."""
    return {name: float(np.mean(v, dtype=np.float64)) for name, v in values.items()}


def latent_neighbours(
    latents: npt.ArrayLike, k: int, *, exact_max_items: int = EXACT_MAX_ITEMS
) -> npt.NDArray[np.int64]:
    """(N, k) ids of every item's k nearest other items in latent space (euclidean)."""
    data = np.ascontiguousarray(latents, dtype=np.float32)
    n = data.shape[0]
    if n >= exact_max_items:
        from app.index.ann import ApproxNeighborIndex

        search = ApproxNeighborIndex(data, "euclidean")
        log.info(
            "faithfulness: approximate latent neighbours of %d items (recall@10 %.3f)",
            n,
            search.recall_,
        )
        ids, _ = search.query(data, k, exclude=np.arange(n))
        return ids
    from sklearn.neighbors import NearestNeighbors

    # n_jobs=-1: the queries are independent; threads share the tree or the BLAS blocks.
    # Without a query array scikit-learn leaves each item out of its own list.
    search = NearestNeighbors(n_neighbors=k, n_jobs=-1).fit(data)
    return np.asarray(search.kneighbors(return_distance=False), dtype=np.int64)


def map_neighbours(xy: npt.ArrayLike, k: int) -> npt.NDArray[np.int64]:
    """(N, k) ids of every item's k nearest other items on a 2D map (exact, k-d tree)."""
    points = np.asarray(xy, dtype=np.float64)
    _, ids = cKDTree(points).query(points, k=k + 1, workers=-1)
    return without_self(np.asarray(ids, dtype=np.int64).reshape(points.shape[0], k + 1))


def without_self(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """(N, k + 1) neighbour lists that include each item -> (N, k) without it.

    Duplicates tie with the item at distance 0 and may push it out of its own list; then the
    farthest of the k + 1 is dropped instead.
    """
    n, k1 = ids.shape
    is_self = ids == np.arange(n)[:, None]
    is_self[~is_self.any(axis=1), k1 - 1] = True
    return ids[~is_self].reshape(n, k1 - 1)


def shared_counts(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """(N,) how many ids of each row of ``a`` (N, k) also occur in the same row of ``b``."""
    n = a.shape[0]
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        hits = (a[start:stop, :, None] == b[start:stop, None, :]).any(axis=2)  # (B, k)
        out[start:stop] = hits.sum(axis=1)
    return out

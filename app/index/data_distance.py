"""How far a latent is from the data.

`knn_distance` is the one measure of it: the mean distance from a latent to its k nearest
reference latents. The anomaly view's kNN score is that distance to the k nearest *normal*
latents; every decoded point (click, path step, arithmetic result, upload) carries it with
k = 1, against every item.

`DataDistance` makes such a distance readable: fitted on the items, it knows how far each item
is from its own nearest other item, so a latent's distance becomes a percentile of those
("as close to an item as 40% of the items are to theirs") and a label a person understands at
a glance: ``inside the data``, ``between clusters`` or ``far from any item``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from app.index.neighbors import NeighborSearch
from models.errors import ConfigError

Placement = Literal["inside the data", "between clusters", "far from any item"]


def knn_distance(
    search: NeighborSearch,
    queries: npt.ArrayLike,
    k: int = 1,
    *,
    exclude: int | npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """(M,) mean distance from each query to its ``k`` nearest items of ``search``.

    ``exclude`` leaves one item out per query (an id, or (M,) ids): how an item of the
    reference set is scored against the others and not against itself. Distances are the
    search's metric (euclidean or cosine); a (D,) query is answered as a batch of one.
    """
    _, distances = search.query(queries, k, exclude=exclude)
    return distances.astype(np.float64).mean(axis=1)


class DataDistance:
    """Where a distance from the data ranks among the items' own.

    Parameters: ``inside`` is the percentile up to which a latent counts as inside the data
    (default 95: at most as far from the nearest item as 95% of the items are from their
    nearest other item). Past the largest of the items' distances a latent is ``far from any
    item``: no item is that isolated. In between, ``between clusters``. ``max_items``: measure
    at most this many items (a seeded sample, by ``seed``) against all of them; None: every
    item. Each item's exact search scans all N items, so measuring every one costs N^2 (70,000
    items, D = 8: 18 s on 2 quiet cores); a sample of n costs n/N of that, and its percentiles
    are within about 50/sqrt(n) percentile points of the full set's (its largest distance can
    only be lower).

    After ``fit``: ``item_distances_`` ((N,) float64, or (max_items,); sorted ascending: each
    measured item's distance to its nearest other item, by the search's metric) and
    ``inside_distance_`` (the distance at the ``inside`` percentile).
    """

    def __init__(self, inside: float = 95.0, max_items: int | None = None, seed: int = 0) -> None:
        self.inside = inside
        self.max_items = max_items
        self.seed = seed

    def fit(self, search: NeighborSearch, latents: npt.ArrayLike) -> DataDistance:
        """Measure each of ``latents`` (the items ``search`` was built on, in its order; at
        most ``max_items`` of them) against its nearest other item."""
        Z = np.asarray(latents)
        if Z.ndim != 2 or len(Z) != search.n_items:
            raise ConfigError(f"latents must be the search's {search.n_items} items, one per row")
        if search.n_items < 2:
            raise ConfigError("a distance from the data needs at least 2 items")
        if self.max_items is not None and self.max_items < 2:
            raise ConfigError(f"max_items must be at least 2 or None; got {self.max_items}")
        rows = np.arange(len(Z))
        if self.max_items is not None and len(Z) > self.max_items:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(len(Z), self.max_items, replace=False))
        return self.fit_distances(knn_distance(search, Z[rows], 1, exclude=rows))

    def fit_distances(self, own: npt.ArrayLike) -> DataDistance:
        """Fit on the items' distances to their nearest other item, measured elsewhere (the
        map's positions: app/index/inverse.py ``own_point_distances``)."""
        if not 0.0 < self.inside < 100.0:
            raise ConfigError(f"inside must be a percentile in (0, 100); got {self.inside}")
        d = np.asarray(own, dtype=np.float64).ravel()
        if d.size == 0 or not np.isfinite(d).all():
            raise ConfigError("fit_distances needs at least one finite distance")
        self.item_distances_ = np.sort(d)
        self.inside_distance_ = float(np.percentile(self.item_distances_, self.inside))
        return self

    def percentile(self, distances: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The share (in %) of items at most this far from their nearest other item."""
        d = np.asarray(distances, dtype=np.float64)
        rank = np.searchsorted(self.item_distances_, d, side="right")
        return 100.0 * rank / len(self.item_distances_)

    def placement(self, distance: float) -> Placement:
        """The label of one distance from the data."""
        if distance <= self.inside_distance_:
            return "inside the data"
        if distance <= float(self.item_distances_[-1]):
            return "between clusters"
        return "far from any item"

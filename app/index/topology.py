"""The shape of a latent space: persistent homology of its point cloud, as functions over arrays.

The eXplain-NNs idea the course teaches: describe what a network learned by the persistent
homology of its latents. H0 bars are the scales at which groups of points merge (single-linkage
heights: a long H0 bar is a well-separated cluster); H1 bars are loops that are born at one
scale and filled in at another (a long H1 bar is a ring in the latent space).

- ``landmarks``: a greedy (farthest-point) subsample, so at most about 2,000 points go to
  ripser while the sample still covers the whole cloud (every point is within ``cover_radius_``
  of a landmark).
- ``Topology``: the estimator. ``fit(Z)`` picks the landmarks and computes the H0 and H1
  diagrams (``ripser``), the single-linkage merge tree of the landmarks (scipy), and H1's
  representative cocycles. ``h0_groups`` and ``h1_points`` turn a clicked bar into the items it
  is about; ``betti`` counts the bars alive at a scale.
- ``diagram_distances``: bottleneck and Wasserstein distances between two models' diagrams.

ripser and persim are imported inside the functions that use them (they pull in numba and
matplotlib), so importing the explorer stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from models.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def landmarks(Z: npt.ArrayLike, n: int, seed: int = 0) -> tuple[IntArray, float]:
    """Farthest-point sampling: ``n`` row indices of ``Z`` (the first one seeded at random, each
    next one the point farthest from those chosen), and the cover radius: the largest distance
    from any point to its nearest landmark. With ``n >= len(Z)`` every row is a landmark."""
    X = _matrix(Z)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"n (landmarks) must be an integer >= 2; got {n!r}")
    if n >= len(X):
        return np.arange(len(X), dtype=np.int64), 0.0
    chosen = np.empty(n, dtype=np.int64)
    chosen[0] = int(np.random.default_rng(seed).integers(len(X)))
    nearest = np.linalg.norm(X - X[chosen[0]], axis=1)  # distance to the closest landmark so far
    for i in range(1, n):
        chosen[i] = int(np.argmax(nearest))
        np.minimum(nearest, np.linalg.norm(X - X[chosen[i]], axis=1), out=nearest)
    return chosen, float(nearest.max())


@dataclass(frozen=True)
class Bar:
    """One bar of a barcode: born at ``birth``, dead at ``death`` (``inf`` for the component
    that never dies)."""

    birth: float
    death: float

    @property
    def length(self) -> float:
        return self.death - self.birth


class Topology:
    """Persistent homology (H0 and H1) of a point cloud on a greedy subsample.

    Parameters: ``max_points`` landmarks at most (ripser's cost grows quickly with it: about a
    second or two at 2,000 points in 16 dimensions on one core), and the ``seed`` of the first
    landmark. After ``fit``: ``landmarks_`` (row indices into the fitted cloud),
    ``cover_radius_``, ``dgms_`` ([H0, H1] as (n, 2) arrays of birth, death; H0 sorted by
    death, the infinite bar last; H1 sorted by length, longest first), ``merges_`` (the
    landmark single-linkage tree, scipy's format, one row per finite H0 bar in the same order)
    and ``cocycles_`` (H1's representative cocycles, in ``dgms_[1]``'s order, as (m, 2) arrays
    of landmark positions: the edges of the loop, approximately) and ``owner_`` (every
    point's nearest landmark, a position in ``landmarks_``). It keeps no copy of the cloud, so
    it is small to send back from the process that fitted it.
    """

    def __init__(self, max_points: int = 2000, seed: int = 0) -> None:
        self.max_points = max_points
        self.seed = seed

    def fit(self, Z: npt.ArrayLike) -> Topology:
        from ripser import ripser
        from scipy.cluster.hierarchy import linkage

        X = _matrix(Z)
        if len(X) < 3:
            raise ConfigError(f"topology needs at least 3 points; got {len(X)}")
        idx, cover = landmarks(X, self.max_points, self.seed)
        sample = X[idx]
        result = ripser(sample, maxdim=1, do_cocycles=True)
        h0 = np.asarray(result["dgms"][0], dtype=np.float64)
        h0 = h0[np.argsort(h0[:, 1], kind="stable")]  # by merge height; inf last
        h1 = np.asarray(result["dgms"][1], dtype=np.float64).reshape(-1, 2)
        order = np.argsort(-(h1[:, 1] - h1[:, 0]), kind="stable")
        cocycles = [np.asarray(result["cocycles"][1][i])[:, :2].astype(np.int64) for i in order]
        self.landmarks_ = idx
        self.cover_radius_ = cover
        self.dgms_ = [h0, h1[order]]
        # Single linkage on the landmarks: its merge heights are exactly H0's finite deaths.
        self.merges_ = linkage(sample, method="single") if len(sample) > 1 else np.empty((0, 4))
        self.cocycles_ = cocycles
        # Every point's nearest landmark: a clicked bar's groups reach the items left out.
        self.owner_ = cKDTree(sample).query(X, k=1)[1].astype(np.int64)
        return self

    def bars(self, dim: int) -> list[Bar]:
        """The barcode of dimension ``dim`` (0 or 1) in the diagram's order."""
        return [Bar(float(b), float(d)) for b, d in self._diagram(dim)]

    def betti(self, scale: float) -> tuple[int, int]:
        """(b0, b1) at ``scale``: the bars alive there (born at or before it, dead after it).
        b0 is the number of connected components the cloud has when points closer than
        ``scale`` are joined."""
        if not np.isfinite(scale) or scale < 0:
            raise ConfigError(f"scale must be a finite number >= 0; got {scale!r}")
        counts = []
        for dim in (0, 1):
            d = self._diagram(dim)
            counts.append(int(np.sum((d[:, 0] <= scale) & (d[:, 1] > scale))))
        return counts[0], counts[1]

    def h0_groups(self, bar: int) -> tuple[IntArray, IntArray]:
        """The two groups of items that merge at H0 bar ``bar`` (a finite bar, in ``dgms_[0]``'s
        order): row indices of the fitted cloud. Items that are not landmarks join the group of
        their nearest landmark."""
        finite = len(self.merges_)
        if isinstance(bar, bool) or not isinstance(bar, int) or not 0 <= bar < finite:
            raise ConfigError(f"bar must be a finite H0 bar, 0 to {finite - 1}; got {bar!r}")
        n = len(self.landmarks_)
        # Cluster members of every node of the linkage tree, built bottom-up to ``bar``.
        members: list[list[int]] = [[i] for i in range(n)]
        for a, b, *_ in self.merges_[: bar + 1]:
            members.append(members[int(a)] + members[int(b)])
        a, b = (int(v) for v in self.merges_[bar, :2])
        owner = self.owner_
        return (
            np.flatnonzero(np.isin(owner, members[a])).astype(np.int64),
            np.flatnonzero(np.isin(owner, members[b])).astype(np.int64),
        )

    def h1_points(self, bar: int) -> IntArray:
        """The items (landmarks) on the edges of H1 bar ``bar``'s representative cocycle: row
        indices of the fitted cloud, sorted. A cocycle cuts the loop, so these points sit
        where the loop is; an approximation of the loop, not the loop itself."""
        count = len(self.cocycles_)
        if isinstance(bar, bool) or not isinstance(bar, int) or not 0 <= bar < count:
            raise ConfigError(f"bar must be an H1 bar, 0 to {count - 1}; got {bar!r}")
        return np.unique(self.landmarks_[self.cocycles_[bar].ravel()]).astype(np.int64)

    def _diagram(self, dim: int) -> FloatArray:
        if dim not in (0, 1):
            raise ConfigError(f"dim must be 0 or 1; got {dim!r}")
        return self.dgms_[dim]


def diagram_distances(a: FloatArray, b: FloatArray, max_bars: int = 200) -> dict[str, float]:
    """Bottleneck and (order-1) Wasserstein distances between two diagrams of one dimension, on
    the ``max_bars`` longest finite bars of each (persim's matching grows steeply: 7 s for 600
    bars against 0.1 s for 200). Leaving out bars no longer than L moves a diagram by at most
    L/2 in bottleneck distance, so ``bottleneck_error`` (half the longest bar left out of each
    diagram, summed) bounds the error of the bottleneck figure; infinite bars are left out."""
    import persim

    kept = []
    error = 0.0
    for d in (a, b):
        bars = np.asarray(d, dtype=np.float64).reshape(-1, 2)
        bars = bars[np.isfinite(bars[:, 1])]
        order = np.argsort(-(bars[:, 1] - bars[:, 0]), kind="stable")
        if len(order) > max_bars:
            left = bars[order[max_bars]]
            error += float(left[1] - left[0]) / 2  # triangle inequality: one term per diagram
        kept.append(bars[order[:max_bars]])
    return {
        "bottleneck": float(persim.bottleneck(kept[0], kept[1])),
        "wasserstein": float(persim.wasserstein(kept[0], kept[1])),
        "bottleneck_error": error,
    }


def _matrix(Z: npt.ArrayLike) -> FloatArray:
    X = np.asarray(Z, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ConfigError(f"points must be a non-empty (N, D) array; got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ConfigError("points must be finite (no NaN or infinity)")
    return X

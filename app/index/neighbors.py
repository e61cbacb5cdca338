"""Exact nearest neighbours over the dataset's latent vectors.

`NeighborIndex` answers "which items are closest to this latent" exactly, fast enough to run on
every click: one float32 matrix-vector product against precomputed squared norms finds a short
list of candidates, and only those candidates get their distance recomputed exactly in float64.
The float32 pass is given a proven error margin, so the candidate list always contains the true
k nearest and the answer is the same as a brute-force float64 scan, ties broken by item index.

`idw_average` is the inverse-distance weighting shared by the projection (placing new latents
on the map) and the inverse map (latents for points outside the triangulated hull).
"""

from __future__ import annotations

from typing import Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt

from models.errors import ConfigError

Metric = Literal["euclidean", "cosine"]
METRICS: tuple[str, ...] = get_args(Metric)

# float32 unit roundoff; the candidate margin is a multiple of it (see `_candidate_margin`).
_EPS32 = float(np.finfo(np.float32).eps)
# Bound on the (B, N) float32 distance block built per chunk of queries: ~16 MB keeps a batch of
# queries cache-friendly instead of materialising an (M, N) matrix for large M.
_BLOCK_ELEMENTS = 1 << 22


class NeighborIndex:
    """Exact k-nearest-neighbour search over a fixed set of latents.

    Args:
        Z: (N, D) latents, one row per dataset item.
        metric: "euclidean" (L2 distance) or "cosine" (1 - cosine similarity; an all-zero row
            has no direction and sits at distance 1 from everything).

    The index keeps float32 copies of the latents (or of their unit vectors for "cosine"); it is
    built once per workspace and then queried many times. Ties are distances equal in float64
    (exact duplicates, integer-valued latents, power-of-two multiples for "cosine"); they are
    ordered by item index.
    """

    def __init__(self, Z: npt.ArrayLike, metric: str = "euclidean") -> None:
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
        data = as_finite_matrix(Z, "Z")
        if data.shape[0] == 0:
            raise ConfigError("Z must hold at least one latent vector; got 0 rows")
        self.metric: Metric = "cosine" if metric == "cosine" else "euclidean"
        self.n_items, self.dim = data.shape
        if self.metric == "cosine":
            unit = _unit_rows(data)  # (N, D) float64
            self._rows = unit.astype(np.float32)
            self._exact: npt.NDArray[np.float64] | None = unit
            self._sqnorms = np.ones(self.n_items, dtype=np.float32)
        else:
            self._rows = np.ascontiguousarray(data, dtype=np.float32)
            # Exact rows for the euclidean rerank are the float32 rows themselves, cast on demand.
            self._exact = None
            self._sqnorms = np.einsum("nd,nd->n", data, data).astype(np.float32)  # (N,)
        self._max_sqnorm = float(self._sqnorms.max())

    def query(
        self,
        q: npt.ArrayLike,
        k: int,
        *,
        exclude: int | npt.ArrayLike | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Return the k nearest items of each query, nearest first.

        Args:
            q: (M, D) queries, or one (D,) query (answered as a batch of one).
            k: how many neighbours, 1..N (1..N-1 with `exclude`).
            exclude: an item id left out of every row's result, or (M,) ids, one per query; this
                is how "neighbours of item 5" avoids returning item 5 itself.

        Returns:
            (indices (M, k) int64, distances (M, k) float32), sorted by distance, equal
            distances ordered by item index.
        """
        indices, distances = self.query_exact(q, k, exclude=exclude)
        return indices, distances.astype(np.float32)

    def neighbors_of(
        self, item: int, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Return the k nearest other items of dataset item `item`: ((k,) ids, (k,) distances)."""
        item = check_item(item, self.n_items)
        indices, distances = self.query(self._query_row(item), k, exclude=item)
        return indices[0], distances[0]

    def query_exact(
        self,
        q: npt.ArrayLike,
        k: int,
        *,
        exclude: int | npt.ArrayLike | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Like `query`, with float64 distances.

        Each row's answer depends only on that query, never on the rest of the batch (the exact
        distances are elementwise float64 arithmetic), which is what lets the projection place a
        point identically whether it arrives alone or in a batch.
        """
        queries, k, excluded = check_query(q, k, exclude, self.n_items, self.dim)
        m = queries.shape[0]

        if self.metric == "cosine":
            queries = _unit_rows(queries)
        indices = np.empty((m, k), dtype=np.int64)
        distances = np.empty((m, k), dtype=np.float64)
        block = max(1, _BLOCK_ELEMENTS // self.n_items)
        for start in range(0, m, block):
            stop = min(start + block, m)
            chunk_excluded = None if excluded is None else excluded[start:stop]
            indices[start:stop], distances[start:stop] = self._query_block(
                queries[start:stop], k, chunk_excluded
            )
        return indices, distances

    def _query_block(
        self,
        queries: npt.NDArray[np.float64],
        k: int,
        excluded: npt.NDArray[np.int64] | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Exact k-NN for a block of B queries (B, D) float64."""
        b = queries.shape[0]
        q32 = queries.astype(np.float32)
        qn = np.einsum("bd,bd->b", queries, queries)  # (B,) float64
        # Approximate distance-like scores in float32: ||z||^2 - 2 z.q + ||q||^2 (squared L2), or
        # 1 - z.q for unit vectors (cosine); both are monotone in the true distance.
        if b == 1:  # a matrix-vector product: the click-to-neighbours path
            approx = (self._rows @ q32[0]).reshape(1, self.n_items)
        else:
            approx = q32 @ self._rows.T  # (B, N)
        approx *= -2.0 if self.metric == "euclidean" else -1.0
        if self.metric == "euclidean":
            approx += self._sqnorms
            approx += qn.astype(np.float32)[:, None]
        else:
            approx += np.float32(1.0)
        rows = np.arange(b)
        if excluded is not None:
            approx[rows, excluded] = np.inf

        # Every true top-k item scores below the k-th smallest approximate score plus twice the
        # float32 error bound, so this candidate set provably contains the exact answer.
        if k == 1:  # an argmin is several times faster than a partition of every row
            first = np.argmin(approx, axis=1)[:, None]  # (B, 1)
        else:  # (B, k): the k smallest, in no order
            first = np.argpartition(approx, k - 1, axis=1)[:, :k]
        kth = approx[rows, first[:, k - 1]].astype(np.float64)  # (B,) the k-th smallest
        threshold = (kth + 2.0 * self._candidate_margin(qn)).astype(np.float32)
        within = approx <= threshold[:, None]  # (B, N)
        counts = np.count_nonzero(within, axis=1)  # (B,) always >= k
        # Usually nothing else sits inside the margin and the partition's first k are the
        # candidates; only rows with near-ties at the k-th place need a scan for the rest.
        crowded = np.flatnonzero(counts > k)
        cand_cols_parts = [first.ravel()]
        cand_rows_parts = [np.repeat(rows, k)]
        if crowded.size:
            plain = counts == k
            cand_cols_parts = [first[plain].ravel()]
            cand_rows_parts = [np.repeat(rows[plain], k)]
            for r in crowded:
                extra = np.flatnonzero(within[r])
                cand_cols_parts.append(extra)
                cand_rows_parts.append(np.full(extra.size, r))
        cand_cols = np.concatenate(cand_cols_parts)
        cand_rows = np.concatenate(cand_rows_parts)

        key = self._exact_keys(queries, cand_rows, cand_cols)
        # Sorted by query, then distance, then item index; query r owns counts[r] >= k of them.
        order = np.lexsort((cand_cols, key, cand_rows))
        starts = np.cumsum(counts) - counts
        take = order[(starts[:, None] + np.arange(k)).ravel()]
        best = key[take].reshape(b, k)
        distances = np.sqrt(best) if self.metric == "euclidean" else best
        return cand_cols[take].reshape(b, k).astype(np.int64), distances

    def _candidate_margin(self, qn: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Bound on |float32 score - exact score| per query, (B,) float64.

        A D-term float32 dot product errs by at most about D*eps*|z||q|; rounding the query to
        float32 and the three additions add a few eps more. (D + 16) * eps * scale covers both
        with room to spare, where scale bounds the magnitudes involved.
        """
        if self.metric == "cosine":
            scale = np.full_like(qn, 2.0)
        else:
            scale = self._max_sqnorm + qn
        return (self.dim + 16) * _EPS32 * scale + np.finfo(np.float32).tiny

    def _exact_keys(
        self,
        queries: npt.NDArray[np.float64],
        cand_rows: npt.NDArray[np.intp],
        cand_cols: npt.NDArray[np.intp],
    ) -> npt.NDArray[np.float64]:
        """Float64 sort keys of (query, candidate) pairs: squared L2 or cosine distance.

        Computed elementwise per pair, so no BLAS blocking decides the last bit. Ranking by the
        squared distance (not its square root) keeps distinct distances distinct.
        """
        if self._exact is not None:  # cosine: 1 - u.v on float64 unit vectors
            dots = np.einsum("cd,cd->c", self._exact[cand_cols], queries[cand_rows])
            # A vector and its own direction can give 1 - (1 + 1 ulp) < 0; that is distance 0.
            return np.maximum(1.0 - dots, 0.0)
        diff = self._rows[cand_cols].astype(np.float64) - queries[cand_rows]  # (C, D)
        return np.einsum("cd,cd->c", diff, diff)

    def _query_row(self, item: int) -> npt.NDArray[np.float64]:
        """The stored row of `item` as a (D,) float64 query (unit vector for cosine)."""
        if self._exact is not None:
            return self._exact[item]
        return self._rows[item].astype(np.float64)


class NeighborSearch(Protocol):
    """What the services need from a neighbour index, exact (`NeighborIndex`) or approximate
    (`app.index.ann.ApproxNeighborIndex`)."""

    n_items: int
    dim: int

    def query(
        self, q: npt.ArrayLike, k: int, *, exclude: int | npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...

    def neighbors_of(
        self, item: int, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...


def check_query(
    q: npt.ArrayLike, k: object, exclude: int | npt.ArrayLike | None, n_items: int, dim: int
) -> tuple[npt.NDArray[np.float64], int, npt.NDArray[np.int64] | None]:
    """Validate a neighbour query: ((M, D) float64 queries, k, (M,) excluded ids or None)."""
    queries = as_finite_matrix(q, "q", allow_vector=True)
    if queries.shape[1] != dim:
        raise ConfigError(
            f"q must have {dim} columns like the indexed latents; got {queries.shape[1]}"
        )
    excluded = check_exclude(exclude, queries.shape[0], n_items)
    k_max = n_items - (1 if excluded is not None else 0)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= k_max:
        hint = " (one item is excluded)" if excluded is not None else ""
        raise ConfigError(f"k must be an integer from 1 to {k_max}{hint}; got {k!r}")
    return queries, int(k), excluded


def check_item(item: object, n_items: int, name: str = "item") -> int:
    """An item id from 0 to n_items - 1, as an int."""
    if (
        isinstance(item, bool)
        or not isinstance(item, int | np.integer)
        or not 0 <= int(item) < n_items
    ):
        raise ConfigError(f"{name} must be an item id from 0 to {n_items - 1}; got {item!r}")
    return int(item)


def check_exclude(
    exclude: int | npt.ArrayLike | None, m: int, n_items: int
) -> npt.NDArray[np.int64] | None:
    """Normalise ``exclude`` to (M,) item ids, or None."""
    if exclude is None:
        return None
    if isinstance(exclude, int | np.integer) and not isinstance(exclude, bool):
        return np.full(m, check_item(exclude, n_items, "exclude"), dtype=np.int64)
    ids = np.asarray(exclude)
    if ids.shape != (m,) or not np.issubdtype(ids.dtype, np.integer):
        raise ConfigError(
            f"exclude must be one item id or {m} integer ids (one per query); "
            f"got shape {ids.shape} of {ids.dtype}"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= n_items):
        raise ConfigError(f"exclude ids must be from 0 to {n_items - 1}")
    return ids.astype(np.int64)


def idw_average(
    values: npt.NDArray[np.floating],
    indices: npt.NDArray[np.integer],
    distances: npt.NDArray[np.floating],
    power: float = 2.0,
) -> npt.NDArray[np.float64]:
    """Inverse-distance weighted mean of `values` rows at each query's neighbours.

    Args:
        values: (N, F) per-item values (latents, or 2D map coordinates).
        indices: (M, k) neighbour ids into `values`.
        distances: (M, k) non-negative distances to those neighbours.
        power: weight = 1 / distance**power.

    Returns:
        (M, F) float64. A query at distance 0 from some neighbours gets exactly the mean of those
        neighbours, so the weighting interpolates the data instead of smoothing it.

    The sums run neighbour by neighbour in a fixed order, so each row's result is bit-identical
    whatever else is in the batch (numpy's pairwise reductions would not promise that).
    """
    dist = np.asarray(distances, dtype=np.float64)  # (M, k)
    nearest = dist.min(axis=1, keepdims=True)  # (M, 1)
    # Dividing by the nearest distance first keeps the weights in (0, 1]: no overflow for tiny
    # distances, no underflow to an all-zero row for huge ones. Rows with an exact hit weigh
    # only their hits (the division there is masked out, hence the harmless 1.0 stand-in).
    scaled = nearest / np.where(dist > 0.0, dist, 1.0)
    weights = np.where(nearest > 0.0, scaled**power, dist == 0.0)  # (M, k)
    total = np.zeros(dist.shape[0], dtype=np.float64)
    acc = np.zeros((dist.shape[0], values.shape[1]), dtype=np.float64)
    gathered = values[indices]  # (M, k, F)
    for j in range(dist.shape[1]):
        total += weights[:, j]
        acc += weights[:, j, None] * gathered[:, j]
    return acc / total[:, None]


def _unit_rows(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Rows scaled to unit length in float64; all-zero rows stay zero (no direction)."""
    x64 = np.asarray(x, dtype=np.float64)
    norms = np.sqrt(np.einsum("nd,nd->n", x64, x64))
    return x64 / np.where(norms > 0.0, norms, 1.0)[:, None]


def as_finite_matrix(
    x: npt.ArrayLike, name: str, *, width: int | None = None, allow_vector: bool = False
) -> npt.NDArray[np.float64]:
    """Validate a real, finite (N, D) array (or one (D,) row when allowed) and return it as
    contiguous float64; ``width`` pins D (2 for map points). Shared by the index's estimators."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ConfigError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if allow_vector and arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0 or (width is not None and arr.shape[1] != width):
        cols = "D" if width is None else str(width)
        shapes = f"(N, {cols}) or ({cols},)" if allow_vector else f"(N, {cols})"
        minimum = " with D >= 1" if width is None else ""
        raise ConfigError(f"{name} must have shape {shapes}{minimum}; got {arr.shape}")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ConfigError(f"{name} must be finite; it contains NaN or infinity")
    return out

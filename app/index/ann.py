"""Approximate nearest neighbours for large collections, on FAISS (an inverted-file index).

Past a configurable number of items (`Settings.ann_min_items`), an exact scan per click costs
milliseconds; `ApproxNeighborIndex` answers the same question from a few of the closest k-means
cells instead. It is calibrated, not hoped for: at build time it asks a seeded sample of the
items for their neighbours, compares with FAISS's exact flat scan and raises `nprobe` (cells
visited per query) until recall@k reaches `target_recall`; `recall_` and `nprobe_` say what it
chose. Returned distances are recomputed from the stored vectors, so they are the same numbers
the exact `NeighborIndex` gives for the same items.

faiss is imported here only, when a large model is loaded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from app.index.neighbors import (
    METRICS,
    Metric,
    NeighborIndex,
    NeighborSearch,
    as_finite_matrix,
    check_item,
    check_query,
)
from models.errors import ConfigError

# Cells ~ sqrt(N) (FAISS's guidance for IVF is 4*sqrt(N) to 16*sqrt(N) for billions; sqrt(N)
# keeps k-means training seconds at a million items on 2 cores).
_MIN_CELLS = 16
_TRAIN_PER_CELL = 64  # k-means training points per cell (FAISS warns below 39)
_CALIBRATION_K = 10  # recall@10, the measure
_QUERY_BLOCK = 8192  # queries per FAISS call: (B, k, D) float64 candidate rows stay ~10 MB


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency
        raise ConfigError(
            "approximate neighbours need faiss: pip install faiss-cpu (or lower ann_min_items)"
        ) from exc
    # FAISS switches to BLAS for large query batches, which rounds differently from its
    # per-query kernels: a point could then pick other cells alone than inside a batch.
    # One kernel for every batch size keeps each answer a function of its query only.
    faiss.cvar.distance_compute_blas_threshold = 2**31 - 1
    return faiss


class ApproxNeighborIndex:
    """Approximate k-nearest-neighbour search (FAISS IVF-Flat) with a measured recall.

    Args:
        Z: (N, D) latents, one row per dataset item.
        metric: "euclidean" or "cosine" (searched as L2 on unit vectors: the same order).
        target_recall: the recall@10 the calibration must reach on its sample queries.
        calibration_queries: how many items the calibration asks for their neighbours.
        seed: picks the k-means training sample and the calibration queries.

    Same query interface as `NeighborIndex`; ties are not ordered by item index.
    """

    def __init__(
        self,
        Z: npt.ArrayLike,
        metric: str = "euclidean",
        *,
        target_recall: float = 0.97,
        calibration_queries: int = 256,
        seed: int = 0,
    ) -> None:
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
        if not 0.0 < target_recall <= 1.0:
            raise ConfigError(f"target_recall must be in (0, 1]; got {target_recall!r}")
        faiss = _import_faiss()
        start = time.perf_counter()
        data = as_finite_matrix(Z, "Z")
        n, dim = data.shape
        if n < 2:
            raise ConfigError(f"Z must hold at least 2 latent vectors; got {n}")
        self.metric: Metric = "cosine" if metric == "cosine" else "euclidean"
        self.n_items, self.dim = n, dim
        rows = np.ascontiguousarray(self._prepare(data), dtype=np.float32)  # (N, D)
        rng = np.random.default_rng(seed)
        self.n_cells_ = int(max(_MIN_CELLS, min(np.sqrt(n), n // _TRAIN_PER_CELL)))
        quantizer = faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, self.n_cells_)
        index.cp.seed = seed
        train = min(n, self.n_cells_ * _TRAIN_PER_CELL * 4)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # k-means sums in one order: the same cells every build
        try:
            index.train(rows[np.sort(rng.choice(n, train, replace=False))] if train < n else rows)
        finally:
            faiss.omp_set_num_threads(threads)
        index.add(rows)
        index.make_direct_map()  # reconstruct(i): the stored row of item i
        self._faiss = faiss
        self._index = index
        self.nprobe_, self.recall_ = self._calibrate(rows, rng, target_recall, calibration_queries)
        self.build_seconds_ = time.perf_counter() - start

    def _prepare(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self.metric == "euclidean":
            return x
        norms = np.sqrt(np.einsum("nd,nd->n", x, x))
        return x / np.where(norms > 0.0, norms, 1.0)[:, None]

    def _calibrate(
        self, rows: npt.NDArray[np.float32], rng: np.random.Generator, target: float, count: int
    ) -> tuple[int, float]:
        """The smallest nprobe (doubling) whose recall@10 on sample items reaches ``target``."""
        k = min(_CALIBRATION_K, self.n_items - 1)
        picks = np.sort(rng.choice(self.n_items, min(count, self.n_items), replace=False))
        queries = rows[picks]
        flat = self._faiss.IndexFlatL2(self.dim)
        flat.add(rows)
        _, truth = flat.search(queries, k + 1)  # exact; each query finds itself too
        nprobe, recall = 1, 0.0
        while True:
            self._index.nprobe = nprobe
            _, found = self._index.search(queries, k + 1)
            hits = [
                len(set(t[t != p][:k]) & set(f[f != p][:k]))
                for t, f, p in zip(truth, found, picks, strict=True)
            ]
            recall = float(np.sum(hits)) / (k * len(picks))
            if recall >= target or nprobe >= self.n_cells_:
                return nprobe, recall
            nprobe = min(nprobe * 2, self.n_cells_)

    def query(
        self, q: npt.ArrayLike, k: int, *, exclude: int | npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The (approximately) k nearest items of each query, nearest first.

        Args:
            q: (M, D) queries or one (D,) query.
            k: 1..N (1..N-1 with `exclude`).
            exclude: one item id, or (M,) ids, left out of each row's answer.

        Returns:
            (indices (M, k) int64, distances (M, k) float32).
        """
        indices, distances = self.query_exact_distances(q, k, exclude=exclude)
        return indices, distances.astype(np.float32)

    def query_exact_distances(
        self, q: npt.ArrayLike, k: int, *, exclude: int | npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Like `query`, with the found items' exact float64 distances.

        Queries run in blocks (bounded memory for a million placements), and each query's
        answer depends on that query only: placing a point alone or in a batch gives the same
        neighbours, which is what the UMAP placement needs.
        """
        queries, k, excluded = check_query(q, k, exclude, self.n_items, self.dim)
        m = queries.shape[0]
        indices = np.empty((m, k), dtype=np.int64)
        distances = np.empty((m, k), dtype=np.float64)
        for start in range(0, m, _QUERY_BLOCK):
            stop = min(start + _QUERY_BLOCK, m)
            block_excluded = None if excluded is None else excluded[start:stop]
            ids = self._search(queries[start:stop], k, block_excluded)
            dist = self._distances(queries[start:stop], ids)
            order = np.argsort(dist, axis=1, kind="stable")
            indices[start:stop] = np.take_along_axis(ids, order, axis=1)
            distances[start:stop] = np.take_along_axis(dist, order, axis=1)
        return indices, distances

    def _search(
        self,
        queries: npt.NDArray[np.float64],
        k: int,
        excluded: npt.NDArray[np.int64] | None,
    ) -> npt.NDArray[np.int64]:
        """(B, k) ids of each query's approximate neighbours, unordered, excluded ids left out."""
        prepared = np.ascontiguousarray(self._prepare(queries), dtype=np.float32)
        extra = 1 if excluded is not None else 0
        _, found = self._index.search(prepared, k + extra)  # (B, k + extra), -1 where short
        keep = found >= 0
        if excluded is not None:
            keep &= found != excluded[:, None]
        # Each row's first k kept ids, in FAISS's order (a stable sort puts kept ones first).
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
        ids = np.take_along_axis(found, order, axis=1).astype(np.int64)
        short = np.flatnonzero(keep.sum(axis=1) < k)
        if short.size and self._index.nprobe < self.n_cells_:
            # A sparse corner: the visited cells hold fewer than k items. Those rows alone are
            # searched again over every cell, which is exact (and each stays its own answer).
            self._index.nprobe = self.n_cells_
            try:
                ids[short] = self._search(
                    queries[short], k, None if excluded is None else excluded[short]
                )
            finally:
                self._index.nprobe = self.nprobe_
        return ids

    def neighbors_of(
        self, item: int, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The k nearest other items of dataset item ``item``: ((k,) ids, (k,) distances)."""
        item = check_item(item, self.n_items)
        row = self._index.reconstruct(item).astype(np.float64)
        indices, distances = self.query(row, k, exclude=item)
        return indices[0], distances[0]

    def _distances(
        self, queries: npt.NDArray[np.float64], indices: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Exact float64 distances from each query to its found items, from the stored rows."""
        m, k = indices.shape
        rows = self._index.reconstruct_batch(indices.ravel()).astype(np.float64).reshape(m, k, -1)
        if self.metric == "cosine":
            unit = self._prepare(queries)
            return np.maximum(1.0 - np.einsum("mkd,md->mk", rows, unit), 0.0)
        diff = rows - queries[:, None, :]
        return np.sqrt(np.einsum("mkd,mkd->mk", diff, diff))


def make_neighbor_index(
    Z: npt.ArrayLike, metric: str = "euclidean", *, ann_min_items: int | None = None
) -> NeighborSearch:
    """Exact `NeighborIndex` below ``ann_min_items`` items (or when it is None), else the
    calibrated `ApproxNeighborIndex`; both answer ``query`` and ``neighbors_of`` alike."""
    n = int(np.shape(Z)[0]) if np.ndim(Z) >= 1 else 0
    if ann_min_items is not None and n >= ann_min_items:
        return ApproxNeighborIndex(Z, metric)
    return NeighborIndex(Z, metric)

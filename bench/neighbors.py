"""Exact k nearest neighbours of one query among many latents, in process, at 70k and 1M.

The latents are a seeded Gaussian mixture (clusters like a trained model's classes) at the
issue's sizes, 70,000 and 1,000,000 x 32. The baseline is scikit-learn's brute-force
`NearestNeighbors`, the usual exact answer, queried one point at a time like the
click-to-neighbours path. Both are timed on the same queries, interleaved, so machine noise
falls on both alike. Only the 70,000 figure has a time goal (1 ms); 1M is there to show how the
exact search scales, and what the approximate index (bench/ann.py) is measured against.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import numpy as np

from app.index.neighbors import NeighborIndex
from bench.stats import Figure, Stats, count_tag

GOAL_QUERY_MS = 1.0  # the target for one k=10 query over 70,000 latents
GOAL_MAX_ITEMS = 70_000  # ... which applies up to that size; larger sizes are informative
LARGE_ITEMS = 100_000  # from here on a query costs milliseconds: fewer repetitions
_CHUNK_ROWS = 1 << 16  # rows generated at a time: 1M x 32 never exists in float64


@dataclass(frozen=True)
class NeighborsConfig:
    sizes: tuple[int, ...] = (70_000, 1_000_000)  # MNIST's 70,000 images, and a million
    dim: int = 32
    k: int = 10
    queries: int = 1000
    baseline_queries: int = 200  # scikit-learn is slower; fewer calls keep the run short
    large_queries: int = 200  # ... and both at sizes >= LARGE_ITEMS
    large_baseline_queries: int = 50
    warmup: int = 20
    clusters: int = 10
    seed: int = 0


def gaussian_mixture(n: int, dim: int, clusters: int, seed: int, stream: int = 0) -> np.ndarray:
    """(n, dim) float32: unit-variance blobs around centres spread with standard deviation 3.

    The centres depend on `seed` only; which blob each row comes from and its noise come from
    `stream` (0 for the items, another for queries), so the items of a given size are the same
    whatever number of queries a benchmark draws. Generated in chunks straight into float32 (the
    random stream is that of one big draw), so a million rows cost their 128 MB, no more.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(clusters, dim))
    if stream:
        rng = np.random.default_rng([seed, stream])
    labels = rng.integers(clusters, size=n)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        out[start:stop] = centres[labels[start:stop]] + rng.normal(size=(stop - start, dim))
    return out


def mixture_split(
    n_items: int, n_queries: int, dim: int, clusters: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(items (n_items, dim), queries (n_queries, dim)) from one mixture; queries are unseen
    points of the same blobs."""
    items = gaussian_mixture(n_items, dim, clusters, seed)
    queries = gaussian_mixture(n_queries, dim, clusters, seed, stream=1)
    return items, queries


def bench_neighbors(config: NeighborsConfig) -> list[Figure]:
    """`NeighborIndex.query` p50 for one query against scikit-learn brute force, per size."""
    figures = []
    for n in config.sizes:
        figures.append(_bench_size(config, n))
        gc.collect()  # the previous size's arrays (up to ~400 MB at 1M) go before the next
    return figures


def _bench_size(config: NeighborsConfig, n: int) -> Figure:
    from sklearn.neighbors import NearestNeighbors

    large = n >= LARGE_ITEMS
    n_queries = config.large_queries if large else config.queries
    n_baseline = config.large_baseline_queries if large else config.baseline_queries
    start = time.perf_counter()
    items, queries = mixture_split(
        n, n_queries + config.warmup, config.dim, config.clusters, config.seed
    )
    data_s = time.perf_counter() - start
    start = time.perf_counter()
    index = NeighborIndex(items)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    brute = NearestNeighbors(n_neighbors=config.k, algorithm="brute").fit(items)
    brute_fit_s = time.perf_counter() - start

    k = config.k
    for q in queries[: config.warmup]:
        index.query(q[None], k)
        brute.kneighbors(q[None])
    ours, theirs, agree = [], [], 0
    clock = time.perf_counter_ns
    for i, q in enumerate(queries[config.warmup :]):
        t0 = clock()
        ids, _ = index.query(q[None], k)
        t1 = clock()
        ours.append(t1 - t0)
        if i < n_baseline:
            t0 = clock()
            _, brute_ids = brute.kneighbors(q[None])
            t1 = clock()
            theirs.append(t1 - t0)
            agree += set(ids[0].tolist()) == set(brute_ids[0].tolist())
    by_threads = _p50_ms_by_blas_threads(index, queries[config.warmup :][:n_baseline], k)

    return Figure(
        f"neighbors_{count_tag(n)}",
        "neighbors",
        f"neighbours k={k} over {n:,} latents of {config.dim} dims, exact: `NeighborIndex.query`",
        Stats.of_ns(ours, "ms"),
        baseline_label='scikit-learn `NearestNeighbors(algorithm="brute")`, 1 query',
        baseline=Stats.of_ns(theirs, "ms"),
        goal_p50=GOAL_QUERY_MS if n <= GOAL_MAX_ITEMS else None,
        details={
            "n_items": n,
            "dim": config.dim,
            "k": k,
            "queries": len(ours),
            "baseline_queries": len(theirs),
            "data": f"{config.clusters}-component Gaussian mixture, seed {config.seed}",
            "data_seconds": data_s,
            "index_build_seconds": build_s,
            "sklearn_fit_seconds": brute_fit_s,
            "same_neighbours_as_sklearn": agree / max(1, len(theirs)),
            "p50_ms_by_blas_threads": by_threads,
        },
    )


def _p50_ms_by_blas_threads(index: NeighborIndex, queries: np.ndarray, k: int) -> dict[str, float]:
    """The query's p50 with the BLAS pool (the matrix-vector product) at 1 thread and at its
    own size: on a busy machine the threads of one product wait on each other."""
    from threadpoolctl import threadpool_info, threadpool_limits

    pools = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    out: dict[str, float] = {}
    for threads in sorted({1, *pools}):
        with threadpool_limits(threads, user_api="blas"):
            samples = [_time_query(index, q, k) for q in queries]
        out[str(threads)] = Stats.of_ns(samples, "ms").p50
    return out


def _time_query(index: NeighborIndex, q: np.ndarray, k: int) -> int:
    t0 = time.perf_counter_ns()
    index.query(q[None], k)
    return time.perf_counter_ns() - t0

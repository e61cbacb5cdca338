"""Exact k nearest neighbours of one query among many latents, in process.

The latents are a seeded Gaussian mixture (clusters like a trained model's classes) at the
issue's size, 70,000 x 32. The baseline is scikit-learn's brute-force `NearestNeighbors`, the
usual exact answer, queried one point at a time like the click-to-neighbours path. Both are
timed on the same queries, interleaved, so machine noise falls on both alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.index.neighbors import NeighborIndex
from bench.stats import Figure, Stats

GOAL_QUERY_MS = 1.0  # the target for one k=10 query over 70,000 latents


@dataclass(frozen=True)
class NeighborsConfig:
    n_items: int = 70_000  # the size (MNIST's 70,000 images)
    dim: int = 32
    k: int = 10
    queries: int = 1000
    baseline_queries: int = 200  # scikit-learn is slower; fewer calls keep the run short
    warmup: int = 20
    clusters: int = 10
    seed: int = 0


def gaussian_mixture(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """(n, dim) float32: unit-variance blobs around centres spread with standard deviation 3."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(clusters, dim))
    labels = rng.integers(clusters, size=n)
    return (centres[labels] + rng.normal(size=(n, dim))).astype(np.float32)


def bench_neighbors(config: NeighborsConfig) -> list[Figure]:
    """`NeighborIndex.query` p50 for one query against scikit-learn brute force."""
    from sklearn.neighbors import NearestNeighbors

    data = gaussian_mixture(
        config.n_items + config.queries + config.warmup, config.dim, config.clusters, config.seed
    )
    items, queries = data[: config.n_items], data[config.n_items :]  # queries are unseen points
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
        if i < config.baseline_queries:
            t0 = clock()
            _, brute_ids = brute.kneighbors(q[None])
            t1 = clock()
            theirs.append(t1 - t0)
            agree += set(ids[0].tolist()) == set(brute_ids[0].tolist())

    return [
        Figure(
            "neighbors",
            "neighbors",
            f"neighbours k={k} over {config.n_items:,} latents of {config.dim} dims: "
            "`NeighborIndex.query`",
            Stats.of_ns(ours, "ms"),
            baseline_label='scikit-learn `NearestNeighbors(algorithm="brute")`, 1 query',
            baseline=Stats.of_ns(theirs, "ms"),
            goal_p50=GOAL_QUERY_MS,
            details={
                "n_items": config.n_items,
                "dim": config.dim,
                "k": k,
                "data": f"{config.clusters}-component Gaussian mixture, seed {config.seed}",
                "index_build_seconds": build_s,
                "sklearn_fit_seconds": brute_fit_s,
                "same_neighbours_as_sklearn": agree / max(1, len(theirs)),
            },
        )
    ]

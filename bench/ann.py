"""Approximate k nearest neighbours at a million latents: latency, recall@10 and build time.

`ApproxNeighborIndex` (app/index/ann.py, FAISS) is what the explorer switches to above a
configured size. It is measured on the same seeded Gaussian mixture as the exact neighbour
figures (bench/neighbors.py), against the exact `NeighborIndex` over the same items: the same
queries, one at a time and interleaved, for latency; the exact answers of every query for
recall@10 (the share of the true 10 nearest that the approximate index returns).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.index.neighbors import NeighborIndex
from bench.neighbors import mixture_split
from bench.stats import BenchSkipped, Figure, Stats, count_tag

GOAL_RECALL = 0.95  # the floor for recall@10 against exact search


@dataclass(frozen=True)
class AnnConfig:
    n_items: int = 1_000_000
    dim: int = 32
    k: int = 10
    queries: int = 1000  # timed one at a time; recall@10 is measured over all of them
    baseline_queries: int = 100  # exact search costs milliseconds per query at 1M
    warmup: int = 20
    clusters: int = 10
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # ApproxNeighborIndex's own defaults


def bench_ann(config: AnnConfig) -> list[Figure]:
    """ApproxNeighborIndex's query p50 vs the exact index's, its recall@10 and build time."""
    try:
        from app.index.ann import ApproxNeighborIndex
    except ImportError as exc:
        raise BenchSkipped(f"app/index/ann.py is not importable ({exc})") from exc

    n, k = config.n_items, config.k
    items, queries = mixture_split(
        n, config.queries + config.warmup, config.dim, config.clusters, config.seed
    )
    start = time.perf_counter()
    exact = NeighborIndex(items)
    exact_build_s = time.perf_counter() - start
    start = time.perf_counter()
    approx = ApproxNeighborIndex(items, "euclidean", **config.params)
    approx_wall_s = time.perf_counter() - start
    build_s = float(getattr(approx, "build_seconds_", approx_wall_s))

    warm, timed = queries[: config.warmup], queries[config.warmup :]
    for q in warm:
        approx.query(q[None], k)
        exact.query(q[None], k)
    ours, theirs = [], []
    found = np.empty((len(timed), k), dtype=np.int64)
    clock = time.perf_counter_ns
    for i, q in enumerate(timed):
        t0 = clock()
        ids, _ = approx.query(q[None], k)
        t1 = clock()
        ours.append(t1 - t0)
        found[i] = ids[0]
        if i < config.baseline_queries:
            t0 = clock()
            exact.query(q[None], k)
            t1 = clock()
            theirs.append(t1 - t0)
    truth, _ = exact.query(timed, k)  # (Q, k): the exact answers, batched (untimed)
    recalls = recall_at_k(found, truth)
    batch_ids, _ = approx.query(timed, k)  # the same queries as one batch: does it agree?

    tag = count_tag(n)
    facts: dict[str, Any] = {
        "n_items": n,
        "dim": config.dim,
        "k": k,
        "data": f"{config.clusters}-component Gaussian mixture, seed {config.seed}",
        "params": config.params,
        "fitted": _fitted_attributes(approx),
    }
    return [
        Figure(
            f"ann_{tag}",
            "ann",
            f"approximate neighbours k={k} over {n:,} latents: `ApproxNeighborIndex.query`",
            Stats.of_ns(ours, "ms"),
            baseline_label="exact `NeighborIndex.query` on the same items, 1 query",
            baseline=Stats.of_ns(theirs, "ms"),
            details=facts | {"queries": len(ours), "baseline_queries": len(theirs)},
        ),
        Figure(
            f"ann_recall_{tag}",
            "ann",
            f"recall@{k} of `ApproxNeighborIndex` against exact search, mean over "
            f"{len(recalls)} unseen queries",
            Stats.of([float(recalls.mean())], ""),
            goal_min=GOAL_RECALL,
            details=facts
            | {
                "queries": len(recalls),
                "recall_min": float(recalls.min()),
                "share_of_queries_with_recall_1": float(np.mean(recalls == 1.0)),
                "batch_answers_equal_single": float(np.mean(np.all(batch_ids == found, axis=1))),
            },
        ),
        Figure(
            f"ann_build_{tag}",
            "ann",
            f"`ApproxNeighborIndex` build over {n:,} latents (`build_seconds_`)",
            Stats.of([build_s], "s"),
            baseline_label="exact `NeighborIndex` build",
            baseline=Stats.of([exact_build_s], "s"),
            ratio_kind="multiple",
            details=facts | {"wall_seconds": approx_wall_s},
        ),
    ]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(Q,) share of each row of `truth` (Q, k) that the same row of `found` (Q, k) holds."""
    k = truth.shape[1]
    return np.array(
        [len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]
    )


def _fitted_attributes(index: object) -> dict[str, Any]:
    """The index's trailing-underscore results that are plain numbers (nprobe_, recall_, ...)."""
    out: dict[str, Any] = {}
    for name, value in vars(index).items():
        if name.endswith("_") and not name.startswith("_"):
            if isinstance(value, bool | int | float | str | np.integer | np.floating):
                out[name] = value.item() if isinstance(value, np.generic) else value
    return out

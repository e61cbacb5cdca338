"""Placing a new image on the UMAP map: speed against umap-learn, and stability.

New images are the model's own dataset images with seeded pixel noise, encoded by the model:
latents near the data but not in it, like uploads. Each is placed by the index's
`UMAPProjection.transform` (the inverse-distance mean of its nearest items' map positions) and,
as the baseline, by umap-learn's `UMAP.transform`, fitted here on the same latents with the
index's parameters and seed; both warm, one latent per call, interleaved.

Stability: every latent of a batch of 100 is placed alone and inside the batch; the figure is
the largest coordinate difference (goal 0: a point must not move because of what else was
encoded with it). umap-learn's difference on the same latents is the baseline.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.services.loaded import LoadedModel
from bench.drag import UMAP_PARAMS
from bench.stats import BenchError, Figure, Stats

PROJECTION = "umap"


@dataclass(frozen=True)
class PlacementConfig:
    points: int = 300  # new latents placed one at a time by the index
    batch: int = 100  # the batch for the stability check
    umap_reps: int = 20  # single-point umap-learn transform calls (each takes a while)
    umap_seconds: float = 60.0  # ... but stop after this long (at least 3 calls)
    warmup: int = 5
    noise: float = 0.1  # pixel noise (std, images in [0, 1]) that makes the images new
    seed: int = 0


def new_images(m: LoadedModel, n: int, noise: float, seed: int) -> np.ndarray:
    """(n, C, H, W) float32 in [0, 1]: seeded dataset images with Gaussian pixel noise."""
    rng = np.random.default_rng(seed)
    if m.index.images is None:
        raise BenchError(f"{m.name}: the placement bench needs a model whose index keeps images")
    picks = rng.choice(len(m.index), n, replace=n > len(m.index))
    images = m.index.images[picks].astype(np.float32) / 255.0  # (n, C, H, W)
    images += rng.normal(0.0, noise, size=images.shape).astype(np.float32)
    return np.clip(images, 0.0, 1.0)


def bench_placement(m: LoadedModel, config: PlacementConfig) -> list[Figure]:
    """`UMAPProjection.transform` for one latent vs umap-learn's, and alone-vs-batch stability.

    `config.umap_reps` 0 skips umap-learn (its fit and first transform take seconds): the
    figures then have no baseline.
    """
    projection = m.index.projections[PROJECTION]
    n = max(config.points, config.batch) + config.warmup
    images = new_images(m, n, config.noise, config.seed)
    latents = m.encode(images)  # (n, D)
    warm, timed = latents[: config.warmup], latents[config.warmup :]
    umap_reps = min(config.umap_reps, config.batch)  # each is compared with the batch too

    details: dict[str, Any] = {"model": m.name, "items": len(m.index)}
    reducer = None
    if umap_reps > 0:
        reducer, fit_s = _fit_umap(m.index.latents)
        start = time.perf_counter()
        reducer.transform(warm[:1])  # numba compiles on the first call
        details |= {
            "umap_params": UMAP_PARAMS,
            "umap_fit_seconds": fit_s,
            "umap_first_transform_seconds": time.perf_counter() - start,
        }
    for z in warm:
        projection.transform(z[None])
        if reducer is not None:
            reducer.transform(z[None])

    ours_ns: list[int] = []
    theirs_ns: list[int] = []
    theirs_alone: list[np.ndarray] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + config.umap_seconds
    for i, z in enumerate(timed[: config.points]):
        t0 = clock()
        projection.transform(z[None])
        ours_ns.append(clock() - t0)
        in_budget = len(theirs_ns) < 3 or time.perf_counter() < deadline
        if reducer is not None and i < umap_reps and in_budget:
            t0 = clock()
            position = reducer.transform(z[None])
            theirs_ns.append(clock() - t0)
            theirs_alone.append(np.asarray(position, dtype=np.float64)[0])

    batch = timed[: config.batch]  # (B, D)
    ours_alone = np.concatenate([projection.transform(z[None]) for z in batch])
    ours_diff = _max_abs_diff(ours_alone, projection.transform(batch))
    theirs_diff = None
    if reducer is not None:
        theirs_in_batch = np.asarray(reducer.transform(batch), dtype=np.float64)
        theirs_diff = _max_abs_diff(np.array(theirs_alone), theirs_in_batch[: len(theirs_alone)])
    # The whole upload path too: encoding an image alone or in a batch may round differently.
    batch_images = images[config.warmup : config.warmup + config.batch]
    alone_latents = np.concatenate([m.encode(x[None]) for x in batch_images])
    image_diff = _max_abs_diff(
        projection.transform(alone_latents), projection.transform(m.encode(batch_images))
    )

    span = [float(s) for s in np.ptp(projection.embedding_, axis=0)]
    details |= {
        "new_images": f"dataset images + N(0, {config.noise}) pixel noise, seed {config.seed}",
        "queries": len(ours_ns),
        "umap_queries": len(theirs_ns),
        "map_span": span,
    }
    return [
        Figure(
            "placement_umap",
            "placement",
            "place a new latent on the UMAP map: `UMAPProjection.transform`, 1 latent (warm)",
            Stats.of_ns(ours_ns, "ms"),
            baseline_label="umap-learn `UMAP.transform`, 1 point (warm, same latents and seed)"
            if theirs_ns
            else None,
            baseline=Stats.of_ns(theirs_ns, "ms") if theirs_ns else None,
            details=details,
        ),
        Figure(
            "placement_stability",
            "placement",
            f"the same latent placed alone and in a batch of {len(batch)}: largest difference "
            "in map position",
            Stats.of([ours_diff], ""),
            baseline_label=f"umap-learn `UMAP.transform` ({len(theirs_alone)} latents)"
            if theirs_diff is not None
            else None,
            baseline=Stats.of([theirs_diff], "") if theirs_diff is not None else None,
            goal_p50=0.0,
            details={
                "batch": len(batch),
                "umap_compared": len(theirs_alone),
                "map_span": span,
                "image_encoded_alone_vs_in_batch_max_abs_diff": image_diff,
            },
        ),
    ]


def _fit_umap(latents: np.ndarray) -> tuple[Any, float]:
    """umap-learn fitted on `latents` with the index's parameters; (reducer, seconds)."""
    with warnings.catch_warnings():
        # umap's import warns that TensorFlow (only for ParametricUMAP) is missing.
        warnings.filterwarnings("ignore", message="Tensorflow not installed")
        import umap

    start = time.perf_counter()
    # n_jobs=1 is what random_state forces anyway; saying so silences umap's warning.
    reducer = umap.UMAP(**UMAP_PARAMS, n_jobs=1).fit(np.asarray(latents, dtype=np.float32))
    return reducer, time.perf_counter() - start


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))

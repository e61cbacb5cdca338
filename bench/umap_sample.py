"""UMAP fitted on a sample, the rest placed like uploads: its time and what it costs the map.

Two figures:
- at a size where a full fit still runs (20,000 latents of the default model, over the
  procedural shapes dataset at the model's image size), the sample fit (`max_fit` latents) vs a
  full UMAP fit of the same latents in the same run: the ratio is the time saved, and the
  details hold both maps' trustworthiness (k=10, on the same 5,000-point subsample), which is
  what the saving costs;
- at a million latents (opt-in group ``umap1m``: several minutes), the time of the app's
  default (`UMAPProjection.index_params["max_fit"]` = 100,000) split into the UMAP fit and
  the placement of the rest. Those latents are a seeded gaussian mixture of 16 dims: the time
  depends on the count and the width of the latents, not on where they came from, and encoding
  a million images first would only add the encode time the build benchmark already reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.fitting import QUALITY_MAX_POINTS, IndexParams
from app.index.projection import UMAPProjection
from app.index.quality import trustworthiness
from app.services.loaded import LoadedModel
from bench.build import warm_up_umap
from bench.stats import Figure, Stats, count_tag
from models.data import load_dataset
from models.training import encode_all


@dataclass(frozen=True)
class UmapSampleConfig:
    items: int = 20_000  # a full fit still runs here (about a minute on 2 cores)
    max_fit: int = 5_000  # the sample: a quarter, like 100k of 400k
    big_items: int = 1_000_000
    big_dim: int = 16
    big_max_fit: int = IndexParams().params_for("umap")["max_fit"]  # the app's default sample
    seed: int = 0


def bench_umap_sample(m: LoadedModel, config: UmapSampleConfig) -> list[Figure]:
    """Sample fit vs full fit at `config.items` real latents: time and trustworthiness."""
    warm_up_umap()  # numba compiles umap-learn's code once per process: keep it out of both
    channels, size = m.image_shape[0], m.image_shape[1]
    data = load_dataset("shapes", image_size=size, channels=channels, size=config.items)
    latents, _ = encode_all(m.model, data.images, m.device)
    full_s, full = _fit(latents, None, config.seed)
    sample_s, sampled = _fit(latents, config.max_fit, config.seed)
    trust = {
        name: trustworthiness(
            latents, proj.embedding_, n_neighbors=10, max_points=QUALITY_MAX_POINTS, seed=0
        )
        for name, proj in (("full", full), ("sample", sampled))
    }
    n = len(latents)
    return [
        Figure(
            f"umap_sample_{count_tag(n)}",
            "umap",
            f"UMAP on a {config.max_fit:,}-latent sample + placing the other "
            f"{n - config.max_fit:,}, {n:,} shapes latents (1 run each; trustworthiness "
            f"{trust['sample']:.3f} vs {trust['full']:.3f} for the full fit)",
            Stats.of([sample_s], "s"),
            baseline_label=f"full UMAP fit of all {n:,}",
            baseline=Stats.of([full_s], "s"),
            details={
                "items": n,
                "max_fit": config.max_fit,
                "latent_dim": int(latents.shape[1]),
                "trustworthiness_full": trust["full"],
                "trustworthiness_sample": trust["sample"],
                "trustworthiness_drop": trust["full"] - trust["sample"],
            },
        )
    ]


def bench_umap_million(config: UmapSampleConfig) -> list[Figure]:
    """The default sample fit at a million synthetic latents, split into fit and placement:
    the two steps `UMAPProjection(max_fit=...).fit` takes, run one by one to time each."""
    warm_up_umap()
    latents = _mixture(config.big_items, config.big_dim, config.seed)
    max_fit = config.big_max_fit
    start = time.perf_counter()
    ids = np.sort(np.random.default_rng(config.seed).choice(len(latents), max_fit, replace=False))
    fitted = UMAPProjection(seed=config.seed).fit(latents[ids])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    rest = np.setdiff1d(np.arange(len(latents)), ids, assume_unique=True)
    placed = fitted.transform(latents[rest])
    place_s = time.perf_counter() - start
    details: dict[str, Any] = {
        "items": len(latents),
        "latent_dim": config.big_dim,
        "max_fit": max_fit,
        "fit_seconds": fit_s,
        "place_seconds": place_s,
        "placed_per_second": len(rest) / place_s,
        "finite": bool(np.isfinite(placed).all()),
        "latents": "seeded gaussian mixture (40 clusters), not a model's",
    }
    return [
        Figure(
            f"umap_sample_{count_tag(len(latents))}",
            "umap1m",
            f"UMAP at {len(latents):,} latents ({config.big_dim} dims, synthetic): fit on "
            f"{max_fit:,} ({fit_s:,.0f} s) + place the rest ({place_s:,.0f} s), 1 run",
            Stats.of([fit_s + place_s], "s"),
            details=details,
        )
    ]


def _fit(latents: np.ndarray, max_fit: int | None, seed: int) -> tuple[float, UMAPProjection]:
    start = time.perf_counter()
    projection = UMAPProjection(seed=seed, max_fit=max_fit).fit(latents)
    return time.perf_counter() - start, projection


def _mixture(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim)) * 3.0
    out = rng.normal(size=(n, dim)).astype(np.float32)
    out += centres[rng.integers(0, 40, n)].astype(np.float32)
    return out

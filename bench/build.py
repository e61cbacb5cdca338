"""Index build time at 1.8k, 20k and 70k items, split into its phases.

`build_index` (app/index/build.py) runs on the default model exactly as `latent-explorer index`
runs it, on the model's own dataset (digits, 1,797 items) and on the procedural shapes dataset
at the model's image size and channels (20,000 and 70,000 items). It records each phase's wall
time (encode, PCA, UMAP, the inverse maps, the quality figures); the figure is the whole call's
wall time, a median where more than one run is cheap enough. numba compiles umap-learn's code
once per process, so a small untimed UMAP fit runs first: these are warm builds (the cold-start
figure includes the compile). The baseline of the larger sizes is the 1.8k build of the same
run: the ratio says how the build grows with the number of items.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.build import build_index, dataset_for
from app.index.fitting import IndexParams
from app.services.loaded import LoadedModel
from bench.stats import Figure, Stats, count_tag
from models.data import ImageSet, load_dataset

# Phases in the order build_index runs them; the keys of its `timings` that make each one.
PHASES: dict[str, tuple[str, ...]] = {
    "encode": ("encode",),
    "PCA": ("pca",),
    "UMAP": ("umap",),
    "t-SNE": ("tsne",),
    "inverse maps": ("pca_inverse", "umap_inverse", "tsne_inverse"),
    "kNN quality": ("quality",),
    "objective measures": ("model_measures", "objective_quality"),
}
OTHER = "other"  # wall time outside the recorded phases (hashing the data, assembling)


@dataclass(frozen=True)
class BuildCase:
    dataset: str  # "model": the model's own dataset; otherwise a spec such as "shapes"
    size: int | None  # items (None: the whole of the model's dataset)
    reps: int


@dataclass(frozen=True)
class BuildConfig:
    cases: tuple[BuildCase, ...] = (
        BuildCase("model", None, 3),
        BuildCase("shapes", 20_000, 1),
        BuildCase("shapes", 70_000, 1),
    )


def bench_build(m: LoadedModel, config: BuildConfig) -> list[Figure]:
    """One figure per case: build_index wall time, with each phase's p50 in the details."""
    warm_s = warm_up_umap()
    figures: list[Figure] = []
    baseline: Figure | None = None
    for case in config.cases:
        start = time.perf_counter()
        data = _dataset(m, case)
        data_s = time.perf_counter() - start
        walls, runs = [], []
        for _ in range(case.reps):
            start = time.perf_counter()
            index = build_index(m.model, m.info, data, IndexParams(), m.device)
            walls.append(time.perf_counter() - start)
            runs.append(dict(index.timings))
            del index
            gc.collect()
        n = len(data)
        phases = phase_medians(runs, walls)
        details: dict[str, Any] = {
            "model": m.name,
            "dataset": data.name,
            "items": n,
            "image_shape": list(data.image_shape),
            "runs": case.reps,
            "phases_p50_s": phases,
            "timings": runs,
            "dataset_load_seconds": data_s,
            "umap_warmup_seconds": warm_s,
            "torch_threads": torch.get_num_threads(),
        }
        goals: dict[str, Any] = {}
        if baseline is not None:
            base_items = baseline.details["items"]
            details["items_ratio"] = n / base_items
            goals = {
                "baseline_label": f"the same build over {base_items:,} items",
                "baseline": baseline.value,
                "ratio_kind": "multiple",
            }
        figure = Figure(
            f"build_{count_tag(n)}",
            "build",
            f"index build, {n:,} {data.name} items: `build_index` (encode, PCA, UMAP, t-SNE, "
            f"inverse maps, kNN quality){'' if case.reps > 1 else ', 1 run'}",
            Stats.of(walls, "s"),
            details=details,
            **goals,
        )
        baseline = baseline or figure
        figures.append(figure)
        del data
        gc.collect()
    return figures


def phase_medians(runs: list[dict[str, float]], walls: list[float]) -> dict[str, float]:
    """Each phase's median seconds over the runs, plus what the recorded phases leave out.

    Keys of `timings` this module does not know (a phase added later) are kept under their
    own names, so nothing build_index measures goes unreported.
    """
    out: dict[str, float] = {}
    known = {key for keys in PHASES.values() for key in keys}
    for phase, keys in PHASES.items():
        out[phase] = float(np.median([sum(run.get(k, 0.0) for k in keys) for run in runs]))
    for key in sorted({k for run in runs for k in run} - known):
        out[key] = float(np.median([run.get(key, 0.0) for run in runs]))
    outside = [wall - sum(run.values()) for run, wall in zip(runs, walls, strict=True)]
    out[OTHER] = float(np.median(outside))
    return out


def _dataset(m: LoadedModel, case: BuildCase) -> ImageSet:
    """The case's images at the model's size and channels."""
    if case.dataset == "model":
        if case.size is None:
            return dataset_for(m.info)  # what `latent-explorer index` loads
        spec = dict(m.info.dataset)
        return load_dataset(
            spec["spec"],
            image_size=int(spec["image_size"]),
            channels=spec.get("channels"),
            size=case.size,
            seed=int(spec.get("seed", 0)),
            data_dir=Path(spec["data_dir"]) if spec.get("data_dir") else None,
            colour=bool(spec.get("colour", False)),
        )
    channels, size = m.image_shape[0], m.image_shape[1]
    return load_dataset(case.dataset, image_size=size, channels=channels, size=case.size)


def warm_up_umap() -> float:
    """Fit UMAP once on a few random points, so numba's compile lands outside the timings."""
    from app.index.projection import make_projection

    start = time.perf_counter()
    points = np.random.default_rng(0).normal(size=(300, 4))
    make_projection("umap", seed=0).fit(points)
    return time.perf_counter() - start

"""Drag frames in process: a 2D map point -> latent (inverse map) -> decoded image -> PNG bytes.

The pointer sweeps the UMAP map along a fixed path, partly past the edge of the map as a real
drag does. Three things are timed per point: the server's own `Explorer.drag_frame` (which hops
to the inference thread), the same work called synchronously, and each step of it. The baseline
is what the page would cost without the index's inverse map: umap-learn's own
`inverse_transform`, fitted here on the same latents (the index keeps no umap object).
"""

from __future__ import annotations

import asyncio
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from app.index.inverse import InverseMap
from app.services.drag import decoded_frame
from app.services.images import png_bytes
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from bench.stats import Figure, Stats, time_calls
from models.conv import ConvDecoder

PROJECTION = "umap"
BATCHES = (1, 8, 32)  # decode batch sizes profiled: one stream, a few, a class
GOAL_FRAME_MS = 1.0  # the target for one drag frame, server side
GOAL_SPEEDUP = 300.0  # ... and how much faster than umap-learn's inverse_transform it must be
# umap-learn's parameters for the baseline: the index's own (UMAPProjection.index_params).
UMAP_PARAMS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "random_state": 0}


@dataclass(frozen=True)
class DragConfig:
    points: int = 1000  # points along the drag path, each timed once per measurement
    warmup: int = 50  # untimed frames first: caches, lazy torch set-up, the worker thread
    umap_reps: int = 20  # single-point umap inverse_transform calls (0: skip the baseline)
    umap_seconds: float = 180.0  # ... but stop after this long (each call can take seconds)
    profile_reps: int = 200  # repetitions per decoder layer in the profile


def drag_path(embedding: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) float32 points sweeping the map left to right in three waves.

    The sweep spans the 1st to 99th percentile of the map plus 5% on each side, so the ends
    of the path leave the hull (the inverse map's weighted fallback) as a real drag does.
    """
    lo = np.percentile(embedding, 1, axis=0)
    hi = np.percentile(embedding, 99, axis=0)
    span = hi - lo
    t = np.linspace(0.0, 1.0, n)
    x = lo[0] - 0.05 * span[0] + t * 1.1 * span[0]
    y = (lo[1] + hi[1]) / 2 + 0.45 * span[1] * np.sin(2 * math.pi * 3 * t)
    return np.column_stack([x, y]).astype(np.float32)


def bench_drag(m: LoadedModel, config: DragConfig) -> list[Figure]:
    """The drag-frame figures: the served frame, its synchronous core and each step."""
    inverse = m.index.inverses[PROJECTION]
    path = drag_path(m.index.projections[PROJECTION].embedding_, config.points)
    steps, served = _time_frames(m, inverse, path, config.warmup)

    details: dict[str, Any] = {
        "model": m.name,
        "projection": PROJECTION,
        "items": len(m.index),
        "path_points": len(path),
        "inside_hull_fraction": _inside_fraction(inverse, path),
        "threads": torch.get_num_threads(),
    }
    baseline_label = None
    baseline: Stats | None = None
    if config.umap_reps > 0:
        baseline_ns, umap_details = _umap_baseline(m, config.umap_reps, config.umap_seconds)
        baseline = Stats.of_ns(baseline_ns, "ms")
        baseline_label = "umap-learn inverse_transform + decode + PNG, 1 point"
        details["umap_baseline"] = umap_details
    core_ns = [sum(parts) for parts in zip(*steps.values(), strict=True)]
    details["steps_p50_us"] = {k: Stats.of_ns(v, "us").p50 for k, v in steps.items()}
    details["decoder_profile"] = decoder_profile(
        m, inverse.transform(path[:1]), config.profile_reps
    )
    per_image = batch_profile(m, inverse.transform(path), config.profile_reps)

    goals: dict[str, Any] = {
        "baseline_label": baseline_label,
        "baseline": baseline,
        "goal_p50": GOAL_FRAME_MS,
        "goal_ratio": GOAL_SPEEDUP,
    }
    labels = {
        "inverse": "↳ inverse map: `InverseMap.transform` (1 point)",
        "decode": "↳ decode: `LoadedModel.decode` (1 latent)",
        "png": "↳ PNG: `png_bytes`",
    }
    return [
        Figure(
            "drag_frame",
            "drag",
            "drag frame, server side: the batched decode, then PNG on the image pool",
            Stats.of_ns(served, "ms"),
            details=details,
            **goals,
        ),
        Figure(
            "drag_frame_sync",
            "drag",
            "drag frame, synchronous core: inverse map + decode + PNG",
            Stats.of_ns(core_ns, "ms"),
            **goals,
        ),
        *(
            Figure(f"drag_{name}", "drag", labels[name], Stats.of_ns(samples, "us"))
            for name, samples in steps.items()
        ),
        *per_image,
    ]


def batch_profile(m: LoadedModel, latents: np.ndarray, reps: int) -> list[Figure]:
    """Decode time per image at batch 1, 8 and 32 (what batching the drag streams buys on this
    machine), and PNG encoding per image (the part moved off the inference thread)."""
    figures = []
    single: Stats | None = None
    for batch in BATCHES:
        z = np.ascontiguousarray(latents[:batch])  # (B, D)
        samples = time_calls(partial(m.decode, z), reps, warmup=max(5, reps // 10))
        per_image = Stats.of([ns * 1e-3 / batch for ns in samples], "us")
        single = single or per_image
        figures.append(
            Figure(
                f"drag_decode_batch_{batch}",
                "drag",
                f"↳ decode per image at batch {batch}: `LoadedModel.decode`",
                per_image,
                baseline_label=None if batch == 1 else "batch 1",
                baseline=None if batch == 1 else single,
            )
        )
    return figures


def _time_frames(
    m: LoadedModel, inverse: InverseMap, path: np.ndarray, warmup: int
) -> tuple[dict[str, list[int]], list[int]]:
    """Nanoseconds per path point of each synchronous step, and of `Explorer.drag_frame`.

    Both run for each point in turn, on one event loop with a real inference worker, so a
    stretch of machine noise lands on both rather than on whichever ran during it.
    """
    worker = InferenceWorker()
    steps: dict[str, list[int]] = {"inverse": [], "decode": [], "png": []}
    served: list[int] = []
    clock = time.perf_counter_ns

    async def frames() -> None:
        for i, xy in enumerate(np.concatenate([path[:warmup], path])):
            t0 = clock()
            latent = inverse.transform(xy[None])  # (1, D)
            t1 = clock()
            images = m.decode(latent)  # (1, C, H, W)
            t2 = clock()
            png_bytes(images[0])
            t3 = clock()
            _, image, _ = await decoded_frame(worker, m, PROJECTION, xy)
            await worker.run_images(png_bytes, image)
            t4 = clock()
            if i >= warmup:
                steps["inverse"].append(t1 - t0)
                steps["decode"].append(t2 - t1)
                steps["png"].append(t3 - t2)
                served.append(t4 - t3)

    try:
        asyncio.run(frames())
    finally:
        worker.close()
    return steps, served


def _inside_fraction(inverse: InverseMap, path: np.ndarray) -> float:
    """Share of the path inside the triangulated hull (the rest takes the weighted fallback).

    Uses the inverse map's own point location, private but the only exact answer to the question.
    """
    simplex, _ = inverse._locate(path.astype(np.float64))
    return float(np.mean(simplex >= 0))


def _umap_baseline(m: LoadedModel, reps: int, budget_s: float) -> tuple[list[int], dict[str, Any]]:
    """Fit umap-learn on the model's latents; time single-point inverse_transform frames.

    Runs `reps` frames, or as many as fit in `budget_s` after the first call (at least 3).
    """
    with warnings.catch_warnings():
        # umap's import warns that TensorFlow (only for ParametricUMAP) is missing.
        warnings.filterwarnings("ignore", message="Tensorflow not installed")
        import umap

    latents = np.asarray(m.index.latents, dtype=np.float32)
    start = time.perf_counter()
    # n_jobs=1 is what random_state forces anyway; saying so silences umap's warning.
    reducer = umap.UMAP(**UMAP_PARAMS, n_jobs=1).fit(latents)
    fit_s = time.perf_counter() - start
    path = drag_path(np.asarray(reducer.embedding_), reps + 1)
    start = time.perf_counter()
    reducer.inverse_transform(path[:1])  # numba compiles on the first call
    warmup_s = time.perf_counter() - start
    frames: list[int] = []
    inverse_ns: list[int] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + budget_s
    for xy in path[1:]:
        if len(frames) >= min(3, reps) and time.perf_counter() > deadline:
            break
        t0 = clock()
        latent = np.asarray(reducer.inverse_transform(xy[None]), dtype=np.float32)  # (1, D)
        t1 = clock()
        png_bytes(m.decode(latent)[0])
        t2 = clock()
        frames.append(t2 - t0)
        inverse_ns.append(t1 - t0)
    import numba

    return frames, {
        "params": UMAP_PARAMS,
        "numba_threads": numba.get_num_threads(),
        "fit_seconds": fit_s,
        "first_inverse_transform_seconds": warmup_s,
        "inverse_transform_p50_ms": Stats.of_ns(inverse_ns, "ms").p50,
        "reps": len(frames),
        "reps_asked": reps,
        "budget_seconds": budget_s,
    }


def decoder_profile(m: LoadedModel, latent: np.ndarray, reps: int) -> dict[str, Any]:
    """Where one decode's time goes: each decoder layer, torch's wrapper costs, threads.

    Every layer is timed alone on the input it sees in a real decode, so the layer times add up
    to the bare forward pass; `LoadedModel.decode` minus that is numpy <-> torch conversion.
    """
    z = torch.from_numpy(np.ascontiguousarray(latent, dtype=np.float32))  # (1, D)
    out: dict[str, Any] = {"reps": reps}
    with torch.inference_mode():
        layers: dict[str, float] = {}
        for name, fn, x in _decoder_stages(m, z):
            y = fn(x)
            label = f"{name} {tuple(x.shape[1:])}->{tuple(y.shape[1:])}"
            layers[label] = _p50_us(partial(fn, x), reps)
        out["layers_p50_us"] = layers
        out["layers_sum_us"] = sum(layers.values())
        out["model_decode_tensor_p50_us"] = _p50_us(lambda: m.model.decode(z), reps)
        one_op = torch.zeros(1, 8)
        out["torch_single_op_p50_us"] = _p50_us(lambda: one_op.add(1.0), reps)
    out["loaded_decode_numpy_p50_us"] = _p50_us(lambda: m.decode(latent), reps)
    threads = torch.get_num_threads()
    by_threads = {}
    try:
        for n in sorted({1, threads}):
            torch.set_num_threads(n)
            by_threads[str(n)] = _p50_us(lambda: m.decode(latent), reps)
    finally:
        torch.set_num_threads(threads)
    out["loaded_decode_p50_us_by_threads"] = by_threads
    return out


Stage = tuple[str, Callable[[torch.Tensor], torch.Tensor], torch.Tensor]


def _decoder_stages(m: LoadedModel, z: torch.Tensor) -> list[Stage]:
    """(name, function, its input) for each step of the model's decode, in order."""
    decoder = getattr(m.model, "decoder", None)
    if not isinstance(decoder, ConvDecoder):
        return [("decode", m.model.decode, z)]
    fns: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = []
    for i, layer in enumerate(decoder.head):
        fns.append((f"head.{i} {type(layer).__name__}", layer))
    channels, (h0, w0) = decoder.start_channels, decoder.start

    def view(x: torch.Tensor) -> torch.Tensor:
        return x.view(-1, channels, h0, w0)  # (B, C0, h0, w0)

    fns.append(("view", view))
    for i, layer in enumerate(decoder.features):
        fns.append((f"features.{i} {type(layer).__name__}", layer))
    size = decoder.image_size

    def resize(x: torch.Tensor) -> torch.Tensor:  # as ConvDecoder.forward: only odd sizes
        if tuple(x.shape[-2:]) == size:
            return x
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    fns.append(("resize", resize))
    fns.append(("sigmoid", torch.sigmoid))
    stages: list[Stage] = []
    x = z
    for name, fn in fns:
        stages.append((name, fn, x))
        x = fn(x)
    return stages


def _p50_us(fn: Callable[[], object], reps: int) -> float:
    return Stats.of_ns(time_calls(fn, reps, warmup=max(5, reps // 10)), "us").p50

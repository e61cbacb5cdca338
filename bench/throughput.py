"""Encode and decode throughput of the model, one image at a time and 256 at a time.

Timed through `LoadedModel.encode`/`decode`, numpy in and out, as the server calls them. Each
figure is the time per image (a call's time divided by its batch), its images/s in the label;
the batch-256 figure's baseline is the batch-1 figure of the same operation, so its ratio is
what batching gains per image. Calls of both sizes alternate, so noise falls on both alike.
Runs on the CPU, and on CUDA as well when torch sees a GPU. On the CPU both sizes are also
timed with the app's oneDNN choice flipped (it keeps oneDNN on for encoding and turns it off
for decoding: models/device.py, `LoadedModel.decode`), to show what each choice is worth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from app.services.loaded import LoadedModel
from bench.placement import new_images
from bench.stats import Figure, Stats

OPERATIONS = ("encode", "decode")


@dataclass(frozen=True)
class ThroughputConfig:
    batches: tuple[int, int] = (1, 256)  # (single, large): the two batch sizes
    rounds: int = 20  # each round: one large call and `singles_per_round` single calls
    singles_per_round: int = 20
    warmup_rounds: int = 2
    seed: int = 0


def bench_throughput(models: list[LoadedModel], config: ThroughputConfig) -> list[Figure]:
    """Per-image time of encode and decode at both batch sizes, for each model's device."""
    figures: list[Figure] = []
    for m in models:
        for operation in OPERATIONS:
            figures += _operation_figures(m, operation, config)
    return figures


def _operation_figures(m: LoadedModel, operation: str, config: ThroughputConfig) -> list[Figure]:
    single, large = config.batches
    images = new_images(m, large, noise=0.05, seed=config.seed)  # (B, C, H, W) float32
    call: Callable[[np.ndarray], np.ndarray]
    if operation == "encode":
        inputs, call = images, m.encode
    else:
        inputs, call = m.encode(images), m.decode  # decode the (B, D) latents of real images
    small_input = np.ascontiguousarray(inputs[:single])
    device = m.device.type
    app_onednn = m.decode_onednn if operation == "decode" else bool(torch.backends.mkldnn.enabled)
    settings = {"app": app_onednn}
    if device == "cpu" and torch.backends.mkldnn.is_available():
        settings["flipped"] = not app_onednn
    samples: dict[tuple[str, int], list[float]] = {  # µs per image
        (name, b): [] for name in settings for b in (single, large)
    }
    clock = time.perf_counter_ns
    try:
        for r in range(config.warmup_rounds + config.rounds):
            for name, onednn in settings.items():
                _set_onednn(m, operation, onednn)
                t0 = clock()
                call(inputs)
                large_ns = clock() - t0
                singles = []
                for _ in range(config.singles_per_round):
                    t0 = clock()
                    call(small_input)
                    singles.append(clock() - t0)
                if r >= config.warmup_rounds:
                    samples[name, large].append(large_ns * 1e-3 / large)
                    samples[name, single].extend(s * 1e-3 / single for s in singles)
    finally:
        _set_onednn(m, operation, app_onednn)

    per_image = {key: Stats.of(s, "us") for key, s in samples.items()}
    rate = {key: 1e6 / stats.p50 for key, stats in per_image.items()}
    details: dict[str, Any] = {
        "model": m.name,
        "device": device,
        "image_shape": list(m.image_shape),
        "latent_dim": m.latent_dim,
        "torch_threads": torch.get_num_threads(),
        "onednn": app_onednn,
    }
    method = f"`LoadedModel.{operation}`"
    figures = [
        Figure(
            f"{operation}_b{single}_{device}",
            "throughput",
            f"{operation}, batch {single}, {device}: {method}, {rate['app', single]:,.0f} images/s",
            per_image["app", single],
            details=details | {"batch": single, "images_per_second": rate["app", single]},
        ),
        Figure(
            f"{operation}_b{large}_{device}",
            "throughput",
            f"{operation}, batch {large}, {device}: {method}, {rate['app', large]:,.0f} "
            "images/s (time per image)",
            per_image["app", large],
            baseline_label=f"batch {single}, per image",
            baseline=per_image["app", single],
            details=details | {"batch": large, "images_per_second": rate["app", large]},
        ),
    ]
    if "flipped" in settings:
        flipped = "on" if settings["flipped"] else "off"
        figures.append(
            Figure(
                f"{operation}_b{large}_{device}_onednn_{flipped}",
                "throughput",
                f"↳ the same with oneDNN {flipped} (the app: {'off' if flipped == 'on' else 'on'} "
                f"for {operation}): {rate['flipped', large]:,.0f} images/s; batch {single}: "
                f"{rate['flipped', single]:,.0f} images/s vs the app's {rate['app', single]:,.0f}",
                per_image["flipped", large],
                baseline_label=f"the app's choice, batch {large}, per image",
                baseline=per_image["app", large],
                details=details
                | {
                    "batch": large,
                    "onednn": settings["flipped"],
                    "images_per_second": rate["flipped", large],
                    f"batch_{single}_per_image_us_p50": per_image["flipped", single].p50,
                    f"batch_{single}_images_per_second": rate["flipped", single],
                },
            )
        )
    return figures


def _set_onednn(m: LoadedModel, operation: str, enabled: bool) -> None:
    """oneDNN for one operation: the global flag for encode, the model's choice for decode."""
    if operation == "decode":
        m.decode_onednn = enabled
    else:
        torch.backends.mkldnn.enabled = enabled  # type: ignore[assignment]

"""Encode and decode throughput of the model, one image at a time and 256 at a time.

Timed through `LoadedModel.encode`/`decode`, numpy in and out, as the server calls them. Each
figure is the time per image (a call's time divided by its batch), its images/s in the label;
the batch-256 figure's baseline is the batch-1 figure of the same operation, so its ratio is
what batching gains per image. Calls of both sizes alternate, so noise falls on both alike.
Runs on the CPU, and on CUDA as well when torch sees a GPU. On the CPU both sizes are also
timed with the app's oneDNN choice flipped (`LoadedModel`: on for encoding 8 or more images,
off for decoding), to show what each choice is worth.
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
    calls: dict[str, Callable[[np.ndarray], np.ndarray]] = {"app": call}
    if device == "cpu" and torch.backends.mkldnn.is_available():
        calls["flipped"] = _flipped(m, operation, call)
    samples: dict[tuple[str, int], list[float]] = {  # µs per image
        (name, b): [] for name in calls for b in (single, large)
    }
    clock = time.perf_counter_ns
    for r in range(config.warmup_rounds + config.rounds):
        for name, run in calls.items():
            t0 = clock()
            run(inputs)
            large_ns = clock() - t0
            singles = []
            for _ in range(config.singles_per_round):
                t0 = clock()
                run(small_input)
                singles.append(clock() - t0)
            if r >= config.warmup_rounds:
                samples[name, large].append(large_ns * 1e-3 / large)
                samples[name, single].extend(s * 1e-3 / single for s in singles)

    per_image = {key: Stats.of(s, "us") for key, s in samples.items()}
    rate = {key: 1e6 / stats.p50 for key, stats in per_image.items()}
    details: dict[str, Any] = {
        "model": m.name,
        "device": device,
        "image_shape": list(m.image_shape),
        "latent_dim": m.latent_dim,
        "torch_threads": torch.get_num_threads(),
        "onednn": {b: _app_onednn(m, operation, b) for b in (single, large)},
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
    if "flipped" in calls:

        def state(b: int, flipped: bool) -> str:
            return "on" if _app_onednn(m, operation, b) != flipped else "off"

        figures.append(
            Figure(
                f"{operation}_b{large}_{device}_onednn_flipped",
                "throughput",
                f"↳ the same with oneDNN {state(large, True)} (the app: {state(large, False)} "
                f"at batch {large}): {rate['flipped', large]:,.0f} images/s; batch {single} with "
                f"it {state(single, True)}: {rate['flipped', single]:,.0f} images/s vs the "
                f"app's {rate['app', single]:,.0f}",
                per_image["flipped", large],
                baseline_label=f"the app's choice, batch {large}, per image",
                baseline=per_image["app", large],
                details=details
                | {
                    "batch": large,
                    "images_per_second": rate["flipped", large],
                    f"batch_{single}_per_image_us_p50": per_image["flipped", single].p50,
                    f"batch_{single}_images_per_second": rate["flipped", single],
                },
            )
        )
    return figures


def _app_onednn(m: LoadedModel, operation: str, batch: int) -> bool:
    """Whether the app runs `operation` on a batch of `batch` with oneDNN (LoadedModel)."""
    if operation == "decode":
        return m.decode_onednn
    return batch >= m.encode_onednn_min_batch


def _flipped(
    m: LoadedModel, operation: str, call: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    """`call` with the app's oneDNN choice for each batch size turned the other way."""

    def run(x: np.ndarray) -> np.ndarray:
        saved = m.encode_onednn_min_batch, m.decode_onednn
        if operation == "decode":
            m.decode_onednn = not m.decode_onednn
        else:  # on for this batch when the app would leave it off, and the reverse
            m.encode_onednn_min_batch = 10**9 if len(x) >= saved[0] else 1
        try:
            return call(x)
        finally:
            m.encode_onednn_min_batch, m.decode_onednn = saved

    return run

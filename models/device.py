"""Device and thread choice: CUDA when present and asked for, the CPU otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from models.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present; ``cuda`` without a GPU is a clear error."""
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device 'cuda' was asked for but no CUDA GPU is available: use auto or cpu"
        )
    return torch.device(name)


def configure_torch(threads: int | None = None) -> int:
    """Set torch's intra-op threads, and numpy's BLAS threads, explicitly (default: the cores
    this process may use).

    BLAS gets the same count because two busy OpenMP pools on two cores stall each other: a
    70k-item neighbour query took 8 ms with BLAS on 2 threads next to torch, 0.6 ms on 1.

    oneDNN (mkldnn) stays on: it makes training steps 2.5-4x and batched encoding ~13x faster
    on a 2-core machine. Small batches are the exception (one 32x32 decode 193 us off vs 424 us
    on, one encode 176 vs 459 us), so `LoadedModel` switches it per call with `onednn`.
    """
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if threads < 1:
        raise ConfigError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")  # process-wide until changed again
    return threads


@contextmanager
def onednn(enabled: bool) -> Iterator[None]:
    """oneDNN on or off for the calls inside, then back to what it was.

    The flag is process-wide: meant for the one thread that runs model calls. (torch's own
    ``torch.backends.mkldnn.flags()`` also sets a TF32 option and warns on CPU-only builds.)
    """
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def set_up_torch(device: str = "auto", threads: int | None = None) -> torch.device:
    """What every command that runs a model does first: the device checked and chosen
    (``resolve_device``), then torch's threads set (``configure_torch``)."""
    chosen = resolve_device(device)
    configure_torch(threads)
    return chosen

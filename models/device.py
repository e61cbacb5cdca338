"""Device and thread choice: CUDA when present and asked for, the CPU otherwise."""

from __future__ import annotations

import os

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
    """Set torch's intra-op threads explicitly (default: the cores this process may use).

    Also turns oneDNN (mkldnn) off for CPU convolutions: for the small images and batches this
    app runs, its per-call set-up dominates. Measured on a 2-core machine: one 32x32 decode
    740 -> 290 us, a training step 118 -> 83 ms, batched encoding no slower.
    """
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if threads < 1:
        raise ConfigError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]
    return threads

"""A user's own model package, written into a temporary folder by the tests that import it.

``TinyVAE`` stands for a class written without this project in mind: its ``encode`` returns
``(mu, logvar)``, it may work in [-1, 1] pixels, and flags make it fail in the ways the import
must report (raise in ``__init__``/``encode``/``decode``, return latents of the wrong rank).
"""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path
from typing import Any

import pytest
import torch

SOURCE = """\
import torch
from torch import nn


class TinyVAE(nn.Module):
    def __init__(
        self, latent_dim=3, side=16, channels=1, tanh=False, fail_in=None, rank3=False, noisy=False,
        nan_beyond=None,
    ):
        super().__init__()
        self.shape = (channels, side, side)
        self.tanh, self.fail_in, self.rank3, self.noisy = tanh, fail_in, rank3, noisy
        self.nan_beyond = nan_beyond  # NaN latents for batches larger than this
        self.enc = nn.Linear(channels * side * side, 2 * latent_dim)
        self.dec = nn.Linear(latent_dim, channels * side * side)
        if fail_in == "init":
            raise ValueError("planted failure in __init__")  # MARK-init

    def encode(self, x):
        if self.fail_in == "encode":
            raise RuntimeError("planted failure in encode")  # MARK-encode
        mu, logvar = self.enc(x.flatten(1)).chunk(2, dim=1)
        if self.nan_beyond is not None and x.shape[0] > self.nan_beyond:
            mu = mu * float("nan")  # MARK-nan: fine on the 16-item sample, not on the rest
        if self.noisy:  # a sample of the posterior, not its mean
            mu = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return (mu.unsqueeze(-1) if self.rank3 else mu), logvar

    def decode(self, z):
        if self.fail_in == "decode":
            raise RuntimeError("planted failure in decode")  # MARK-decode
        y = self.dec(z).view(-1, *self.shape)
        return torch.tanh(y) if self.tanh else torch.sigmoid(y)


class TinyEncoder(nn.Module):
    def __init__(self, latent_dim=2, side=16):
        super().__init__()
        self.proj = nn.Linear(side * side, latent_dim)

    def embed(self, x):
        return self.proj(x.flatten(1))
"""

_counter = itertools.count()


def line_of(path: Path, mark: str) -> int:
    """1-based line of the planted ``# MARK-...`` comment in the written module."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if mark in line)


def write_package(root: Path, mp: pytest.MonkeyPatch) -> tuple[str, Path]:
    """Write a fresh uniquely named package under ``root`` and put ``root`` on sys.path.

    Unique names, because a module once imported stays in sys.modules for the session."""
    name = f"usermodels_{next(_counter)}_{root.name.replace('-', '_')}"
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(SOURCE)
    mp.syspath_prepend(str(root))
    return f"{name}.nets", package / "nets.py"


def save_weights(module_name: str, class_name: str, kwargs: dict[str, Any], path: Path) -> Any:
    """Seeded random weights of ``class_name(**kwargs)`` saved as safetensors; the module."""
    from safetensors.torch import save_file

    cls = getattr(importlib.import_module(module_name), class_name)
    torch.manual_seed(0)
    module = cls(**kwargs).eval()
    save_file(module.state_dict(), str(path))
    return module

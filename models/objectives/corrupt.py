"""Corruptions a denoising autoencoder learns to undo: ``gaussian:0.3``, ``saltpepper:0.1``,
``mask:0.25`` (kind and level, as the ``--noise`` flag spells them)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.errors import ConfigError

KINDS = {
    "gaussian": "add Gaussian noise of this standard deviation (pixels in [0, 1])",
    "saltpepper": "set this fraction of pixels to black or white at random",
    "mask": "blank this fraction of pixels at random",
}


@dataclass(frozen=True)
class Corruption:
    kind: str
    level: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown noise kind {self.kind!r}: choose one of {', '.join(KINDS)}")
        if not 0.0 <= self.level <= 1.0:
            raise ConfigError(f"noise level must be from 0 to 1, got {self.level}")

    @classmethod
    def parse(cls, text: str) -> Corruption:
        """``"gaussian:0.3"`` -> Corruption("gaussian", 0.3)."""
        kind, sep, level = text.partition(":")
        try:
            value = float(level)
        except ValueError:
            value = float("nan")
        if not sep or value != value:
            raise ConfigError(
                f"noise must be KIND:LEVEL such as gaussian:0.3 (kinds: {', '.join(KINDS)}); "
                f"got {text!r}"
            )
        return cls(kind.strip().lower(), value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> a corrupted copy in [0, 1]."""
        g = generator.device

        def rand(shape: torch.Size) -> torch.Tensor:
            return torch.rand(shape, generator=generator, device=g).to(x.device)

        if self.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator, device=g).to(x.device)
            return (x + self.level * noise).clamp(0.0, 1.0)
        hit = rand(x.shape) < self.level
        if self.kind == "mask":
            return x.masked_fill(hit, 0.0)
        white = rand(x.shape) < 0.5  # saltpepper
        return torch.where(hit, white.to(x.dtype), x)

"""The one interface every latent model implements, and the name -> class registry.

Every later part of the explorer (index, services, API) talks to a model only through
``LatentModel``: ``encode``, ``decode``, ``latent_dim``, ``image_shape`` and ``loss``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from models.errors import ConfigError

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 64
MAX_LATENT_DIM = 1024


@dataclass
class ModelConfig:
    """Arguments shared by every architecture; each architecture may extend it."""

    image_shape: tuple[int, int, int] = (1, 32, 32)  # (C, H, W) of the images it is trained on
    latent_dim: int = 8  # small enough to stay interpretable, large enough for digits (kNN >= 0.9)
    width: int = 32  # channels of the first conv layer; doubles per downsampling stage

    def validate(self) -> None:
        """Raise ConfigError with a readable message for impossible sizes."""
        c, h, w = self.image_shape
        if c not in (1, 3):
            raise ConfigError(f"image channels must be 1 (grey) or 3 (colour), got {c}")
        for side in (h, w):
            if not MIN_IMAGE_SIZE <= side <= MAX_IMAGE_SIZE:
                raise ConfigError(
                    f"image size {h}x{w} px is out of range: "
                    f"allowed {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} px per side"
                )
        if not 1 <= self.latent_dim <= MAX_LATENT_DIM:
            raise ConfigError(
                f"latent dimension {self.latent_dim} is out of range: allowed 1 to {MAX_LATENT_DIM}"
            )
        if not 4 <= self.width <= 256:
            raise ConfigError(f"width {self.width} is out of range: allowed 4 to 256")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready arguments (tuples become lists)."""
        out = asdict(self)
        out["image_shape"] = list(self.image_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from ``to_dict`` output; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model arguments {unknown}: allowed {sorted(known)}")
        args = dict(data)
        if "image_shape" in args:
            shape = args["image_shape"]
            if not (isinstance(shape, list | tuple) and len(shape) == 3):
                raise ConfigError(f"image_shape must be [channels, height, width], got {shape!r}")
            args["image_shape"] = tuple(int(v) for v in shape)
        config = cls(**args)
        config.validate()
        return config


class LatentModel(nn.Module):
    """An encoder/decoder pair with a latent space the explorer can map.

    Subclasses set ``config_class`` and implement ``encode``, ``decode`` and ``loss``.
    Images are float tensors in [0, 1] of shape (B, C, H, W); latents are (B, latent_dim).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.config.image_shape

    @property
    def can_encode(self) -> bool:
        """Whether ``encode`` works: False for precomputed embeddings (no encoder at all)."""
        return True

    @property
    def can_decode(self) -> bool:
        """Whether ``decode`` works: False for encoder-only models and precomputed embeddings;
        the explorer then shows the nearest real images instead of decoded ones."""
        return True

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, latent_dim); deterministic (a VAE returns its mean)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [0, 1]."""
        raise NotImplementedError

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training loss on a batch: a dict of named scalar terms; ``"loss"`` is the total."""
        raise NotImplementedError


REGISTRY: dict[str, type[LatentModel]] = {}

M = TypeVar("M", bound=type[LatentModel])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: make an architecture buildable by name (and from a checkpoint)."""

    def wrap(cls: M) -> M:
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap


def architecture(name: str) -> type[LatentModel]:
    """The class registered under ``name``; ConfigError listing the allowed names otherwise."""
    import models.autoencoder  # noqa: F401  (registers "ae")
    import models.vae  # noqa: F401  (registers "vae")

    try:
        return REGISTRY[name]
    except KeyError:
        allowed = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"unknown model architecture {name!r}: choose one of {allowed}") from None


def build_model(name: str, args: dict[str, Any]) -> LatentModel:
    """Build an untrained model of architecture ``name`` from JSON-style arguments."""
    cls = architecture(name)
    return cls(cls.config_class.from_dict(args))

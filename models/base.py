"""The one interface every latent model implements, and the config every kind extends.

Every later part of the explorer (index, services, API) talks to a model only through
``LatentModel``: ``encode``, ``decode``, ``latent_dim``, ``image_shape``, ``loss``, and the
capability flags below. Which class a workspace folder holds is looked up by name in
models/registry.py, the one list of kinds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import torch
from torch import nn

from models.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CheckpointInfo,
    load_weights,
    verify_file,
)
from models.data.base import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from models.errors import CheckpointError, ConfigError

MAX_LATENT_DIM = 1024
MIN_MAPPED_DIM = 2  # the maps are 2-D projections of the latents (PCA needs two axes)


@dataclass
class ModelConfig:
    """Arguments shared by every kind; each kind may extend it."""

    image_shape: tuple[int, int, int] = (1, 32, 32)  # (C, H, W) of the images it is trained on
    latent_dim: int = 8  # small enough to stay interpretable, large enough for digits (kNN >= 0.9)

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
        if not MIN_MAPPED_DIM <= self.latent_dim <= MAX_LATENT_DIM:
            raise ConfigError(
                f"latent dimension {self.latent_dim} is out of range: allowed {MIN_MAPPED_DIM} "
                f"to {MAX_LATENT_DIM} (the maps are 2-D projections of the latents)"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready arguments (tuples become lists)."""
        out = asdict(self)
        out["image_shape"] = list(self.image_shape)
        return out

    @classmethod
    def argument_names(cls) -> frozenset[str]:
        """The keys ``from_dict`` accepts."""
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict`` output; unknown keys are an error, not silently dropped."""
        known = cls.argument_names()
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

    @classmethod
    def from_checkpoint(cls, folder: Path, info: CheckpointInfo) -> Self:
        """``info.args`` as this config; a CheckpointError naming the folder's config.json
        when they do not fit."""
        try:
            return cls.from_dict(dict(info.args))
        except ConfigError as exc:
            raise CheckpointError(f"{folder / CONFIG_FILE}: {exc}") from None
        except TypeError as exc:  # a value of the wrong type, e.g. "latent_dim": "eight"
            raise CheckpointError(f"{folder / CONFIG_FILE}: bad model arguments ({exc})") from None


class LatentModel(nn.Module):
    """An encoder/decoder pair with a latent space the explorer can map.

    A kind sets ``name`` (the ``architecture`` in config.json), ``config_class`` and its
    capability flags, implements ``encode``, ``decode`` (and ``loss`` if it is trainable),
    and overrides ``load`` when its folder holds more than ``model.safetensors``.
    Images are float tensors in [0, 1] of shape (B, C, H, W); latents are (B, latent_dim).
    """

    name: ClassVar[str]
    # One or two sentences for people: what the objective is and what the latent is.
    description: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    # What the kind can do; the explorer reads these, never the kind's name.
    trainable: ClassVar[bool] = False  # `latent-explorer train` builds it from a config and fits it
    runs_code: ClassVar[bool] = False  # loading imports Python code named in config.json
    stored_latents: ClassVar[bool] = False  # its latents are stored vectors, not encoded images
    # Its loss is supervised: training passes each batch's labels to ``loss`` and refuses a
    # dataset without labels (Siamese, triplet).
    needs_labels: ClassVar[bool] = False
    # Epochs `latent-explorer train` runs when not told (early stopping may stop sooner): each
    # kind's is chosen so that its defaults train digits in about two minutes or less on 2
    # CPU cores (docs/objectives.md records the choice and the timings behind it).
    default_epochs: ClassVar[int] = 20
    # Whether training keeps the weights of the best validation epoch and stops when it has not
    # improved for `patience` epochs. Off for a loss that is no guide to the latent's quality
    # (JEPA: its targets move with the EMA encoder): every epoch runs and the last weights stay.
    early_stopping: ClassVar[bool] = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        """Rebuild the model a checkpoint folder holds (``info`` is its config.json).

        The trained kinds' way: build from the arguments, then load ``model.safetensors``
        strictly. ``load_checkpoint`` moves the result to ``device`` and to eval mode."""
        weights = folder / WEIGHTS_FILE
        verify_file(
            weights, info.weights_sha256, f"a checkpoint folder needs {WEIGHTS_FILE}", "saving"
        )
        model = cls(cls.config_class.from_checkpoint(folder, info))
        load_weights(weights, model, fits=f"architecture {info.architecture!r}")
        return model

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.config.image_shape

    @property
    def can_encode(self) -> bool:
        """Whether ``encode`` works: False for stored latents (no encoder at all)."""
        return not self.stored_latents

    @property
    def can_decode(self) -> bool:
        """Whether ``decode`` works: False for encoder-only models and stored latents; the
        explorer then shows the nearest real images instead of decoded ones, unless a decoder was
        fitted to the model (models/fitted_decoder.py)."""
        return not self.stored_latents

    @property
    def decoder_source(self) -> str:
        """Where ``decode`` comes from: ``"own"`` (the model's decoder), ``"fitted"`` (one
        fitted afterwards, models/fitted_decoder.py) or ``"none"``."""
        return "own" if self.can_decode else "none"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, latent_dim); deterministic (a VAE returns its mean)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [0, 1]."""
        raise NotImplementedError

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training loss on a batch: a dict of named scalar terms; ``"loss"`` is the total.

        labels: (B,) int64 class indices, given only to kinds with ``needs_labels``.
        Random draws (augmentations, noise, masks) come from torch's global generator, which
        training seeds, so a seeded run repeats."""
        raise NotImplementedError

    def after_step(self) -> None:
        """Called by training after each optimiser step; a no-op unless the kind keeps state
        that follows its weights (JEPA's moving-average target encoder)."""

"""The ``live`` kind: an encoder (and decoder) held in memory by a Python session.

``latent_explorer.from_torch`` wraps any callables from a batch tensor to a batch tensor (a
``torch.nn.Module`` pair, bound methods, plain functions) in this kind so the explorer serves
them while the session runs. Nothing on disk describes them, so ``load`` always refuses: such
an entry is stored only as the ``pytorch-class`` kind, when its class can be imported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from models.base import LatentModel, ModelConfig
from models.checkpoint import CheckpointInfo
from models.errors import CheckpointError, ConfigError
from models.imported import check_images, check_latents, first_output

Fn = Callable[[torch.Tensor], torch.Tensor]


class LiveModel(LatentModel):
    """Callables in memory behind the ``LatentModel`` interface, checked on every call."""

    name = "live"
    description = "An encoder (and decoder) held in memory by a Python session."
    config_class = ModelConfig

    def __init__(self, config: ModelConfig, encoder: Fn, decoder: Fn | None = None) -> None:
        super().__init__(config)
        self.encoder = encoder
        self.decoder = decoder

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        raise CheckpointError(
            f"{folder}: a live model exists only in the Python session that made it"
        )

    @property
    def can_decode(self) -> bool:
        return self.decoder is not None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = first_output(self.encoder(x), "the encoder")  # (B, D); a VAE's (mu, logvar): mu
        check_latents(z, x.shape[0], "the encoder", self.latent_dim)
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.decoder is None:
            raise ConfigError("this entry was made without a decoder")
        y = first_output(self.decoder(z), "the decoder")  # (B, C, H, W) in [0, 1]
        check_images(y, z.shape[0], self.image_shape, "the decoder")
        return y.clamp(0, 1)

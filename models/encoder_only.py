"""The shared shape of the encoder-only kinds (simclr, siamese, triplet): the ConvEncoder
backbone whose output is the explorer's latent, and no decoder of their own."""

from __future__ import annotations

import torch

from models.base import LatentModel
from models.conv import ConvConfig, ConvEncoder


class ConvEncoderModel(LatentModel):
    """A ConvEncoder mapping images to the latent; subclasses add a head and a loss."""

    config: ConvConfig
    trainable = True

    def __init__(self, config: ConvConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(config.image_shape, config.width, config.latent_dim)

    @property
    def can_decode(self) -> bool:
        return False  # the explorer shows nearest real images (or a fitted decoder's)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"model kind {self.name!r} is encoder-only: it has no decoder")

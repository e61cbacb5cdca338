"""The shared shape of the encoder-only kinds (simclr, siamese, triplet): the ConvEncoder
backbone whose output is the explorer's latent, and no decoder of their own; and the shared
shape of the metric-learning kinds (siamese, triplet): a margin, and labels for every batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.base import LatentModel
from models.conv import ConvConfig, ConvEncoder
from models.errors import ConfigError


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


@dataclass
class MarginConfig(ConvConfig):
    """The backbone's arguments plus the margin a metric-learning loss keeps between labels,
    on L2-normalised latents (distances in [0, 2]); each kind sets its own default."""

    margin: float = 1.0

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.margin <= 2.0:
            raise ConfigError(f"margin {self.margin} is out of range: allowed above 0 up to 2")


class LabelledEncoderModel(ConvEncoderModel):
    """An encoder-only kind whose loss is supervised by the dataset's labels."""

    needs_labels = True

    def require_labels(self, labels: torch.Tensor | None) -> torch.Tensor:
        if labels is None:
            raise ConfigError(f"model kind {self.name!r} needs the batch's labels to train")
        return labels

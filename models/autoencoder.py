"""A plain convolutional autoencoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.base import LatentModel
from models.conv import ConvConfig, ConvDecoder, ConvEncoder


class ConvAutoencoder(LatentModel):
    """Deterministic encoder and decoder trained on binary cross-entropy."""

    name = "ae"
    description = (
        "Autoencoder: compresses each image to the latent and is trained to reconstruct it "
        "(binary cross-entropy). The latent is the encoder output."
    )
    config_class = ConvConfig
    config: ConvConfig
    trainable = True

    def __init__(self, config: ConvConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(config.image_shape, config.width, config.latent_dim)
        self.decoder = ConvDecoder(config.image_shape, config.width, config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))  # (B, C, H, W) in [0, 1]

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.decoder(self.encoder(x))
        # Summed over pixels, averaged over the batch: same scale as the VAE's reconstruction term.
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        return {"loss": recon, "recon": recon}

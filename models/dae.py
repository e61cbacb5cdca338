"""A denoising autoencoder: the plain AE's network, trained to reconstruct clean images from
corrupted ones (Vincent et al., 2008)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.autoencoder import ConvAutoencoder
from models.conv import ConvConfig
from models.objectives.augment import draw_generator
from models.objectives.corrupt import Corruption


@dataclass
class DAEConfig(ConvConfig):
    # KIND:LEVEL as models/objectives/corrupt.py parses it. Gaussian 0.3 is the calibration
    # noise: strong enough that a plain AE passes much of it through (17.7 dB against the
    # DAE's 24.9 on 32 px digits), mild enough that the digit stays readable.
    noise: str = "gaussian:0.3"

    def validate(self) -> None:
        super().validate()
        Corruption.parse(self.noise)  # ConfigError naming the allowed kinds


class DenoisingAutoencoder(ConvAutoencoder):
    """Encodes and decodes like the AE; only its training input is corrupted."""

    name = "dae"
    description = (
        "Denoising autoencoder: reconstructs the clean image from a corrupted copy (its "
        "training noise is in its arguments). The latent is the encoder output on the image."
    )
    config_class = DAEConfig
    # docs/objectives.md's denoising figures were taken at 60 epochs (~0.6 s each)
    default_epochs = 60
    config: DAEConfig

    def __init__(self, config: DAEConfig) -> None:
        super().__init__(config)
        self.corruption = Corruption.parse(config.noise)

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) corrupted images in [0, 1] -> the reconstructed clean images."""
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        noisy = self.corruption(x, draw_generator(x.device))  # (B, C, H, W)
        logits = self.decoder(self.encoder(noisy))
        # Scored against the clean image; same scale as the AE's reconstruction term.
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        return {"loss": recon, "recon": recon}

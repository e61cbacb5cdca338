"""Convolutional encoder and decoder stacks shared by the autoencoder and the VAE.

Any square or rectangular image from 8 to 64 px per side: the encoder halves the spatial size
with stride-2 convolutions until it is at most 4 px, the decoder mirrors it and resizes the last
feature map to the exact image size when the side is not a power of two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.base import ModelConfig
from models.errors import ConfigError


@dataclass
class ConvConfig(ModelConfig):
    """What the convolutional kinds add to ``ModelConfig``."""

    width: int = 32  # channels of the first conv layer; doubles per downsampling stage

    def validate(self) -> None:
        super().validate()
        if not 4 <= self.width <= 256:
            raise ConfigError(f"width {self.width} is out of range: allowed 4 to 256")


def n_stages(height: int, width: int) -> int:
    """How many stride-2 stages bring the larger side down to at most 4 px."""
    return max(1, math.ceil(math.log2(max(height, width) / 4)))


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_features)."""

    def __init__(self, image_shape: tuple[int, int, int], width: int, out_features: int) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        channels = c
        for stage in range(n_stages(h, w)):
            nxt = width * 2**stage
            layers += [nn.Conv2d(channels, nxt, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = nxt
        self.features = nn.Sequential(*layers)
        with torch.no_grad():  # infer the flattened size once instead of hard-coding it
            flat = self.features(torch.zeros(1, c, h, w)).numel()
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, 256), nn.LeakyReLU(0.2), nn.Linear(256, out_features)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, out_features)


class ConvDecoder(nn.Module):
    """(B, latent_dim) -> logits (B, C, H, W); apply a sigmoid for pixel values."""

    def __init__(self, image_shape: tuple[int, int, int], width: int, latent_dim: int) -> None:
        super().__init__()
        c, h, w = image_shape
        stages = n_stages(h, w)
        self.image_size = (h, w)
        # Start from the size the encoder ends at, so the stack mirrors it exactly.
        self.start = (math.ceil(h / 2**stages), math.ceil(w / 2**stages))
        self.start_channels = width * 2 ** (stages - 1)
        self.head = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, self.start_channels * self.start[0] * self.start[1]),
            nn.LeakyReLU(0.2),
        )
        layers: list[nn.Module] = []
        channels = self.start_channels
        for stage in reversed(range(stages - 1)):
            nxt = width * 2**stage
            layers += [nn.ConvTranspose2d(channels, nxt, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = nxt
        layers.append(nn.ConvTranspose2d(channels, c, 4, stride=2, padding=1))
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.head(z).view(-1, self.start_channels, *self.start)  # (B, C0, h0, w0)
        x = self.features(x)  # (B, C, h0 * 2**stages, w0 * 2**stages)
        if tuple(x.shape[-2:]) != self.image_size:
            x = F.interpolate(x, size=self.image_size, mode="bilinear", align_corners=False)
        return x

"""A tiny autoencoder on 8x8 digits, importable (so from_torch can store it)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TinyAE(nn.Module):
    def __init__(self, latent_dim: int = 3) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.enc = nn.Sequential(
            nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, latent_dim)
        )
        self.dec = nn.Sequential(
            nn.Linear(latent_dim, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid()
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)  # (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).view(-1, 1, 8, 8)  # (B, 1, 8, 8)


def digits(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, 8, 8) float32 in [0, 1] and (n,) labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[:n, None] / 16.0).astype(np.float32), d.target[:n]


def trained(
    n: int = 400, epochs: int = 150, seed: int = 0
) -> tuple[TinyAE, np.ndarray, np.ndarray]:
    torch.manual_seed(seed)
    x, y = digits(n)
    ae = TinyAE()
    opt = torch.optim.Adam(ae.parameters(), lr=1e-2)
    xt = torch.from_numpy(x)
    for _ in range(epochs):
        opt.zero_grad()
        loss = (ae.decode(ae.encode(xt)) - xt).pow(2).mean()
        loss.backward()
        opt.step()
    return ae.eval(), x, y

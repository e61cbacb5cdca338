"""The quality figures that need the model itself, not only its latents: alignment of two
augmented views, and denoising. Computed at index build on a seeded sample of the items, so
that a build stays about as fast as before (docs/objectives.md gives the formulas).

- ``alignment``: for a model that encodes, with images. Two views of each sampled image are
  drawn by simclr's default augmentation (models/objectives/augment.py) from a fixed seed.
- ``denoising``: for a model that decodes (its own decoder or a fitted one: ``can_decode``).
  The sampled images are corrupted by the model's own training noise when it has one (a
  denoising autoencoder), else by ``gaussian:0.3``, so every decoding model is scored on the
  same noise; the PSNR of the decoded corrupted image against the clean one sits next to the
  PSNR of the corrupted input itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from app.index.measures import alignment, psnr
from models.base import LatentModel
from models.objectives.augment import Augment
from models.objectives.corrupt import Corruption
from models.training import as_float

SAMPLE = 512  # images per figure: +-0.01 on alignment, +-0.1 dB on PSNR; ~0.2 s on digits
BATCH = 256
DEFAULT_NOISE = "gaussian:0.3"  # the calibration noise of docs/objectives.md


def model_measures(
    model: LatentModel,
    images: np.ndarray | None,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """``alignment`` and ``denoising`` of ``model`` on a seeded sample of ``images`` (N, C, H, W)
    uint8; empty without images or an encoder."""
    if images is None or len(images) < 2 or not model.can_encode:
        return {}
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(images), min(SAMPLE, len(images)), replace=False))
    x = as_float(np.asarray(images[rows]), torch.device(device))  # (S, C, H, W) in [0, 1]
    model.eval()
    out: dict[str, Any] = {"alignment": view_alignment(model, x, seed)}
    if model.can_decode:
        out["denoising"] = denoising(model, x, noise_of(model), seed)
    return out


def noise_of(model: LatentModel) -> Corruption:
    """The model's own training noise when it trains on corrupted images, else the default."""
    own = getattr(model, "corruption", None)
    return own if isinstance(own, Corruption) else Corruption.parse(DEFAULT_NOISE)


@torch.inference_mode()
def view_alignment(model: LatentModel, x: torch.Tensor, seed: int) -> float:
    """Mean squared distance of the L2-normalised latents of two augmented views per image."""
    augment = Augment()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    first, second = augment(x, generator), augment(x, generator)
    return alignment(_encode(model, first), _encode(model, second))


@torch.inference_mode()
def denoising(model: LatentModel, x: torch.Tensor, noise: Corruption, seed: int) -> dict[str, Any]:
    """PSNR (dB) of ``decode(encode(noisy))`` and of ``noisy`` itself against the clean ``x``."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    noisy = noise(x, generator)  # (S, C, H, W)
    restored = torch.cat(
        [model.decode(model.encode(noisy[i : i + BATCH])) for i in range(0, len(x), BATCH)]
    )
    return {
        "noise": str(noise),
        "psnr": psnr(float((restored - x).pow(2).mean())),
        "input_psnr": psnr(float((noisy - x).pow(2).mean())),
    }


def _encode(model: LatentModel, x: torch.Tensor) -> np.ndarray:
    """(S, C, H, W) -> (S, D) latents, in batches."""
    parts = [model.encode(x[i : i + BATCH]).float().cpu().numpy() for i in range(0, len(x), BATCH)]
    return np.concatenate(parts)

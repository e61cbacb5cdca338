"""Fit a ``FittedDecoder`` to fixed latents and their images: seeded, with early stopping on a
validation split and the reconstruction error measured on held-out items.

The encoder is frozen, so the latents are given once (the model's index holds them) rather
than encoded every epoch; only the decoder learns. The held-out items are the ones the model's
training recorded (``training.holdout_ids``) when it has them, else a seeded share
(``holdout_split``, as training draws it).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.errors import ConfigError
from models.fitted_decoder import FittedDecoder
from models.training import (
    MIN_TRAIN_IMAGES,
    as_float,
    check_schedule,
    holdout_split,
    split_holdout,
)

IMPROVEMENT = 1e-6  # a validation MSE (pixels in [0, 1]) must beat the best by this much


@dataclass
class FitDecoderConfig:
    epochs: int = 30  # digits: the held-out PSNR levels off by then (an AE trains 20)
    batch_size: int = 64  # as training: more updates per epoch on small datasets
    lr: float = 2e-3  # Adam with a cosine schedule, as training
    seed: int = 0
    width: int = 32  # the AE's default decoder width
    holdout_fraction: float = 0.2  # only when the model records no held-out items
    val_fraction: float = 0.1  # of the rest, for early stopping
    patience: int = 6  # epochs without a better validation MSE before stopping
    progress: bool = True  # tqdm bar on stderr

    def validate(self) -> None:
        check_schedule(
            self.epochs, self.batch_size, self.lr, self.holdout_fraction, self.val_fraction
        )
        if not 4 <= self.width <= 256:
            raise ConfigError(f"width {self.width} is out of range: allowed 4 to 256")

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "patience": self.patience,
        }


@dataclass
class FitDecoderResult:
    decoder: FittedDecoder  # the weights of the best validation epoch, in eval mode
    epochs_run: int
    best_epoch: int
    seconds: float
    # held-out items: how many, where they come from, MSE and PSNR of the decoder's
    # reconstructions and, for scale, of the training items' mean image
    heldout: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error on pixels in [0, 1]."""
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def split_items(
    n: int, recorded: list[int] | None, config: FitDecoderConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(train, validation, held-out) item indices and where the held-out ones come from."""
    rng = np.random.default_rng(config.seed)
    if recorded:
        held = np.unique(np.asarray(recorded, dtype=np.int64))
        if held[0] < 0 or held[-1] >= n:
            raise ConfigError(
                f"the model's recorded held-out items go up to {held[-1]}, but it has {n} "
                "items: its dataset changed since training"
            )
        rest = np.setdiff1d(np.arange(n), held)
        source = "training.holdout_ids"
    else:
        rest, held = holdout_split(n, config.holdout_fraction, config.seed)
        source = f"seeded {config.holdout_fraction:.0%} of the items"
    val_pos, train_pos = split_holdout(len(rest), config.val_fraction, rng)
    return rest[train_pos], rest[val_pos], held, source


def fit_decoder(
    latents: np.ndarray,
    images: np.ndarray,
    config: FitDecoderConfig,
    recorded_holdout: list[int] | None = None,
    device: torch.device | str = "cpu",
) -> FitDecoderResult:
    """Fit a decoder from (N, D) latents to their uint8 (N, C, H, W) images."""
    from tqdm import tqdm

    config.validate()
    if len(latents) != len(images):
        raise ConfigError(f"{len(latents)} latents for {len(images)} images")
    train_ids, val_ids, held_ids, source = split_items(len(latents), recorded_holdout, config)
    if len(train_ids) < MIN_TRAIN_IMAGES:
        raise ConfigError(f"need at least {MIN_TRAIN_IMAGES} items to fit on, got {len(train_ids)}")
    device = torch.device(device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng([config.seed, 1])
    z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(device)  # (N, D)
    c, h, w = (int(s) for s in images.shape[1:])
    decoder = FittedDecoder((c, h, w), config.width, z.shape[1]).to(device)
    decoder.set_standardisation(z[torch.from_numpy(train_ids).to(device)])
    optimiser = torch.optim.Adam(decoder.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=config.epochs * math.ceil(len(train_ids) / config.batch_size)
    )
    best = (math.inf, 0, copy.deepcopy(decoder.state_dict()))
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc="fit-decoder", unit="epoch",
               disable=not config.progress, file=sys.stderr)  # fmt: skip
    epoch = 0
    for epoch in bar:
        decoder.train()
        order = train_ids[rng.permutation(len(train_ids))]
        loss = 0.0
        for first in range(0, len(order), config.batch_size):
            rows = np.sort(order[first : first + config.batch_size])  # memory-mapped reads
            x = as_float(images[rows], device)  # (B, C, H, W)
            logits = decoder.logits(z[torch.from_numpy(rows).to(device)])
            batch = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
            optimiser.zero_grad(set_to_none=True)
            batch.backward()
            optimiser.step()
            schedule.step()
            loss += float(batch.detach()) * len(x)
        val_mse = mean_mse(decoder, z, images, val_ids, device)
        history.append({"epoch": float(epoch), "loss": loss / len(order), "val_mse": val_mse})
        bar.set_postfix({"loss": f"{loss / len(order):.2f}", "val_mse": f"{val_mse:.4f}"})
        if val_mse < best[0] - IMPROVEMENT:
            best = (val_mse, epoch, copy.deepcopy(decoder.state_dict()))
        elif epoch - best[1] >= config.patience:
            break
    bar.close()
    decoder.load_state_dict(best[2])
    decoder.eval()
    seconds = time.perf_counter() - start
    heldout = heldout_figures(decoder, z, images, train_ids, held_ids, device) | {"source": source}
    return FitDecoderResult(decoder, epoch, best[1], seconds, heldout, history)


@torch.inference_mode()
def mean_mse(
    decoder: FittedDecoder,
    z: torch.Tensor,
    images: np.ndarray,
    ids: np.ndarray,
    device: torch.device,
    batch_size: int = 512,
) -> float:
    """Mean per-pixel squared error of the decoder's images of items ``ids``."""
    decoder.eval()
    total = 0.0
    for first in range(0, len(ids), batch_size):
        rows = ids[first : first + batch_size]
        x = as_float(images[rows], device)
        recon = decoder(z[torch.from_numpy(rows).to(device)])
        total += float((recon - x).pow(2).flatten(1).mean(1).sum())
    return total / max(len(ids), 1)


def heldout_figures(
    decoder: FittedDecoder,
    z: torch.Tensor,
    images: np.ndarray,
    train_ids: np.ndarray,
    held_ids: np.ndarray,
    device: torch.device,
) -> dict[str, Any]:
    """MSE and PSNR on the held-out items, beside those of the training items' mean image
    (what a decoder that learnt nothing from the latent would score)."""
    mse = mean_mse(decoder, z, images, held_ids, device)
    mean_image = np.zeros(images.shape[1:], dtype=np.float64)
    for first in range(0, len(train_ids), 1024):
        mean_image += np.asarray(images[train_ids[first : first + 1024]], np.float64).sum(0)
    mean_image /= 255.0 * len(train_ids)
    held = np.asarray(images[held_ids], np.float64) / 255.0
    mean_mse_ = float(((held - mean_image) ** 2).mean()) if len(held) else math.nan
    return {
        "items": int(len(held_ids)),
        "mse": mse,
        "psnr": psnr(mse),
        "mean_image_mse": mean_mse_,
        "mean_image_psnr": psnr(mean_mse_),
    }

"""Training loop: seeded, with a held-out split, early stopping and a progress bar."""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from models.base import LatentModel
from models.errors import ConfigError, ModelCodeError


@dataclass
class TrainConfig:
    epochs: int = 20  # digits: kNN accuracy ~0.97 by then, and the first run stays under a minute
    batch_size: int = 64  # small batches: more updates per epoch on small datasets
    lr: float = 2e-3  # Adam; a cosine schedule takes it to ~0 at the last epoch
    seed: int = 0
    val_fraction: float = 0.1  # held out for early stopping
    patience: int = 6  # epochs without a better validation loss before stopping
    progress: bool = True  # tqdm bar on stderr

    def validate(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be between 0 and 0.5, got {self.val_fraction}")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be positive, got {self.lr}")


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    images_per_second: float
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_float(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 in [0, 1] on ``device``."""
    if not images.flags.writeable:  # a memory-mapped index: torch wants its own copy
        images = np.array(images)
    return torch.from_numpy(images).to(device=device, dtype=torch.float32).div_(255.0)


MIN_TRAIN_IMAGES = 10  # one held out for validation still leaves a few batches to learn from
IMPROVEMENT = 1e-4  # a validation loss must beat the best by this much to count as better


def train(
    model: LatentModel,
    images: np.ndarray,
    config: TrainConfig,
    device: torch.device | str = "cpu",
) -> TrainResult:
    """Fit ``model`` on uint8 images (N, C, H, W); keeps the weights of the best validation epoch.

    Deterministic for a given seed, device and thread count: the split, the batch order and the
    VAE's noise all come from generators seeded here.
    """
    from tqdm import tqdm

    config.validate()
    check_training_images(model, images)
    device = torch.device(device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    val_idx, train_idx = split_holdout(len(images), config.val_fraction, rng)
    x_val = as_float(images[val_idx], device)
    model.to(device)
    optimiser, schedule = make_optimiser(model, config, len(train_idx))
    best = BestWeights(model)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(
        range(1, config.epochs + 1),
        desc="train",
        unit="epoch",
        disable=not config.progress,
        file=sys.stderr,
    )
    epoch = 0
    for epoch in bar:
        order = train_idx[rng.permutation(len(train_idx))]
        row = train_epoch(model, images, order, optimiser, schedule, config.batch_size, device)
        val = evaluate(model, x_val, config.batch_size * 4)
        row |= {f"val_{key}": value for key, value in val.items()}
        row["epoch"] = float(epoch)
        history.append(row)
        rate = epoch * len(train_idx) / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix(
            {k: f"{v:.2f}" for k, v in row.items() if k != "epoch"} | {"img/s": f"{rate:.0f}"}
        )
        if not best.offer(model, val["loss"], epoch) and epoch - best.epoch >= config.patience:
            break
    bar.close()
    model.load_state_dict(best.state)
    model.eval()
    seconds = time.perf_counter() - start
    return TrainResult(
        epochs_run=epoch,
        best_epoch=best.epoch,
        best_val_loss=best.loss,
        seconds=seconds,
        images_per_second=epoch * len(train_idx) / max(seconds, 1e-9),
        history=history,
    )


def check_training_images(model: LatentModel, images: np.ndarray) -> None:
    """ConfigError unless there are enough images and they have the model's (C, H, W)."""
    if len(images) < MIN_TRAIN_IMAGES:
        raise ConfigError(f"need at least {MIN_TRAIN_IMAGES} images to train, got {len(images)}")
    if tuple(images.shape[1:]) != model.image_shape:
        raise ConfigError(
            f"images are {tuple(images.shape[1:])} but the model expects {model.image_shape}"
        )


def split_holdout(
    n: int, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the validation items (sorted, at least one) and of the training items."""
    order = rng.permutation(n)
    n_val = max(1, int(round(n * val_fraction)))
    return np.sort(order[:n_val]), order[n_val:]


def make_optimiser(
    model: LatentModel, config: TrainConfig, n_train: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam, with a cosine schedule that reaches ~0 at the last step of the last epoch."""
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=config.epochs * steps_per_epoch
    )
    return optimiser, schedule


def train_epoch(
    model: LatentModel,
    images: np.ndarray,
    order: np.ndarray,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    batch_size: int,
    device: torch.device,
) -> dict[str, float]:
    """One pass over ``images[order]`` in batches; the mean of each loss term per image."""
    model.train()
    sums: dict[str, float] = {}
    for first in range(0, len(order), batch_size):
        x = as_float(images[order[first : first + batch_size]], device)
        terms = model.loss(x)
        optimiser.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimiser.step()
        schedule.step()
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + float(value.detach()) * len(x)
    return {key: value / len(order) for key, value in sums.items()}


class BestWeights:
    """The weights of the epoch with the lowest validation loss so far (early stopping)."""

    def __init__(self, model: LatentModel) -> None:
        self.loss = math.inf
        self.epoch = 0
        self.state = copy.deepcopy(model.state_dict())

    def offer(self, model: LatentModel, loss: float, epoch: int) -> bool:
        """Keep ``model``'s weights if ``loss`` beats the best by ``IMPROVEMENT``; whether
        it did (a NaN loss never does)."""
        if not loss < self.loss - IMPROVEMENT:
            return False
        self.loss, self.epoch = loss, epoch
        self.state = copy.deepcopy(model.state_dict())
        return True


def evaluate(model: LatentModel, x: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Mean loss terms over ``x``; the VAE's noise is seeded so the number is repeatable."""
    model.eval()
    sums: dict[str, float] = {}
    state = torch.random.get_rng_state()
    torch.manual_seed(1234)
    with torch.no_grad():
        for first in range(0, len(x), batch_size):
            batch = x[first : first + batch_size]
            for key, value in model.loss(batch).items():
                sums[key] = sums.get(key, 0.0) + float(value) * len(batch)
    torch.random.set_rng_state(state)
    return {key: value / len(x) for key, value in sums.items()}


@torch.inference_mode()
def encode_all(
    model: LatentModel, images: np.ndarray, device: torch.device | str, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray | None]:
    """Latents (N, D) float32 and per-item reconstruction MSE (N,) float32, in batches.

    An encoder-only model (``can_decode`` False) has no reconstruction: errors are None.
    """
    model.eval()
    latents, errors = [], []
    for first in range(0, len(images), batch_size):
        x = as_float(images[first : first + batch_size], torch.device(device))
        z = model.encode(x)  # (B, D)
        if not torch.isfinite(z).all():  # an imported model may fail on items past its sample
            bad = first + int((~torch.isfinite(z)).any(dim=1).nonzero()[0, 0])
            raise ModelCodeError(
                f"the encoder returned NaN or infinite latents for item {bad} (and maybe others) "
                f"of {len(images)}: the index cannot place them"
            )
        latents.append(z.float().cpu().numpy())
        if model.can_decode:
            recon = model.decode(z)  # (B, C, H, W)
            errors.append((recon - x).pow(2).flatten(1).mean(1).float().cpu().numpy())
    return np.concatenate(latents), np.concatenate(errors) if errors else None

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
    # Items the encoder never trains on, for the held-out kNN and linear-probe measures; the
    # same (item count, seed, fraction) always hold out the same items (see holdout_split).
    holdout_fraction: float = 0.2
    val_fraction: float = 0.1  # of the training part, held out for early stopping
    patience: int = 6  # epochs without a better validation loss before stopping
    progress: bool = True  # tqdm bar on stderr
    # Anomaly detection: the label codes trained on (the "normal" classes); items of the other
    # classes are never trained on, nor are held-out normal items. None: every class.
    normal_classes: list[int] | None = None

    def validate(self) -> None:
        check_schedule(
            self.epochs, self.batch_size, self.lr, self.holdout_fraction, self.val_fraction
        )


def check_schedule(
    epochs: int, batch_size: int, lr: float, holdout_fraction: float, val_fraction: float
) -> None:
    """The checks every training loop's settings share (training a model, fitting a decoder)."""
    if epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if not 0.0 <= holdout_fraction < 0.5:
        raise ConfigError(
            f"holdout_fraction must be from 0 up to (not including) 0.5, got {holdout_fraction}"
        )
    if not 0.0 < val_fraction < 0.5:
        raise ConfigError(f"val_fraction must be between 0 and 0.5, got {val_fraction}")
    if not lr > 0:
        raise ConfigError(f"learning rate must be positive, got {lr}")


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    images_per_second: float
    history: list[dict[str, float]] = field(default_factory=list)
    # Indices (into the images given to ``train``) of the items held out from training,
    # sorted: record them beside the model so the measures score only unseen items.
    holdout_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_float(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 in [0, 1] on ``device``."""
    if not images.flags.writeable:  # a memory-mapped index: torch wants its own copy
        images = np.array(images)
    return torch.from_numpy(images).to(device=device, dtype=torch.float32).div_(255.0)


MIN_TRAIN_IMAGES = 10  # after the held-out and validation items, a few batches are left
IMPROVEMENT = 1e-4  # a validation loss must beat the best by this much to count as better


def train(
    model: LatentModel,
    images: np.ndarray,
    config: TrainConfig,
    device: torch.device | str = "cpu",
    labels: np.ndarray | None = None,
) -> TrainResult:
    """Fit ``model`` on uint8 images (N, C, H, W); keeps the weights of the best validation epoch.

    labels: (N,) class indices, or None for an unlabelled dataset; passed batch by batch to
            kinds with ``needs_labels`` (which refuse to train without them), ignored by others.

    A seeded ``holdout_fraction`` of the items (``holdout_split``) is never trained on; their
    indices are returned in ``TrainResult.holdout_ids``. With ``config.normal_classes`` only
    the other items of those classes are trained on (``normal_only``). Early stopping's
    validation items are carved from the rest. Deterministic for a given seed, device and
    thread count: the splits, the batch order and every random draw of the losses come from
    generators seeded here.
    """
    from tqdm import tqdm

    config.validate()
    check_training_images(model, images)
    y = check_training_labels(model, labels, len(images))
    device = torch.device(device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    fit_ids, holdout_ids = holdout_split(len(images), config.holdout_fraction, config.seed)
    fit_ids = normal_only(fit_ids, labels, config.normal_classes)
    val_pos, train_pos = split_holdout(len(fit_ids), config.val_fraction, rng)
    val_idx, train_idx = fit_ids[val_pos], fit_ids[train_pos]
    x_val = as_float(images[val_idx], device)
    y_val = None if y is None else y[val_idx].to(device)
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
        row = train_epoch(
            model, images, order, optimiser, schedule, config.batch_size, device, labels=y
        )
        val = evaluate(model, x_val, config.batch_size * 4, labels=y_val)
        row |= {f"val_{key}": value for key, value in val.items()}
        row["epoch"] = float(epoch)
        history.append(row)
        rate = epoch * len(train_idx) / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix(
            {k: f"{v:.2f}" for k, v in row.items() if k != "epoch"} | {"img/s": f"{rate:.0f}"}
        )
        improved = best.offer(model, val["loss"], epoch)
        stops = type(model).early_stopping
        if stops and not improved and epoch - best.epoch >= config.patience:
            break
    bar.close()
    if type(model).early_stopping:
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
        holdout_ids=[int(i) for i in holdout_ids],
    )


def check_training_images(model: LatentModel, images: np.ndarray) -> None:
    """ConfigError unless there are enough images and they have the model's (C, H, W)."""
    if len(images) < MIN_TRAIN_IMAGES:
        raise ConfigError(f"need at least {MIN_TRAIN_IMAGES} images to train, got {len(images)}")
    if tuple(images.shape[1:]) != model.image_shape:
        raise ConfigError(
            f"images are {tuple(images.shape[1:])} but the model expects {model.image_shape}"
        )


def check_training_labels(
    model: LatentModel, labels: np.ndarray | None, n: int
) -> torch.Tensor | None:
    """The labels as an int64 tensor for a kind that needs them, None for any other kind;
    ConfigError when a supervised kind gets a dataset without labels (or with one class)."""
    if not model.needs_labels:
        return None
    if labels is None:
        raise ConfigError(
            f"model kind {model.name!r} learns from the dataset's labels, but this dataset has "
            "no labels: train it on a labelled dataset (digits, mnist, shapes, a folder of class "
            "subfolders), or choose a kind that needs none (ae, vae, dae, simclr, jepa)"
        )
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ConfigError(f"{len(y)} labels for {n} images: need one label per image")
    if len(np.unique(y)) < 2:
        raise ConfigError(
            f"model kind {model.name!r} learns to separate classes, but every item has the "
            "same label: it needs at least two"
        )
    return torch.from_numpy(y.astype(np.int64))


def normal_only(
    ids: np.ndarray, labels: np.ndarray | None, normal_classes: list[int] | None
) -> np.ndarray:
    """The items of ``ids`` whose label is one of ``normal_classes`` (all when None), in
    their order: the held-out split is drawn over every item first, so the same items are held
    out with or without normal classes, and the anomalous classes are never trained on."""
    if normal_classes is None:
        return ids
    if labels is None:
        raise ConfigError("training on normal classes needs a labelled dataset")
    keep = ids[np.isin(np.asarray(labels)[ids], np.asarray(normal_classes, dtype=np.int64))]
    if len(keep) < MIN_TRAIN_IMAGES:
        raise ConfigError(
            f"only {len(keep)} training items are of the normal classes "
            f"{normal_classes}: need at least {MIN_TRAIN_IMAGES}"
        )
    return keep


HOLDOUT_STREAM = 20_013  # mixed into the seed: the held-out split is independent of batch order


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training items (shuffled) and of the held-out items (sorted) among
    ``n``: a function of ``(n, fraction, seed)`` only, so anyone can recompute it. At least
    one item is held out when ``fraction`` is above 0."""
    if fraction <= 0:
        return np.random.default_rng(seed).permutation(n), np.array([], dtype=np.int64)
    order = np.random.default_rng([seed, HOLDOUT_STREAM]).permutation(n)
    n_out = max(1, int(round(n * fraction)))
    return order[n_out:], np.sort(order[:n_out])


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
    labels: torch.Tensor | None = None,
) -> dict[str, float]:
    """One pass over ``images[order]`` in batches; the mean of each loss term per image.

    labels: (N,) for every image, given to ``loss`` batch by batch (supervised kinds only)."""
    model.train()
    sums: dict[str, float] = {}
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        x = as_float(images[rows], device)
        if labels is None:
            terms = model.loss(x)
        else:
            terms = model.loss(x, labels[torch.from_numpy(rows)].to(device))
        optimiser.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimiser.step()
        schedule.step()
        model.after_step()
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


def evaluate(
    model: LatentModel, x: torch.Tensor, batch_size: int, labels: torch.Tensor | None = None
) -> dict[str, float]:
    """Mean loss terms over ``x``; random draws (the VAE's noise, augmentations, masks) are
    seeded so the number is repeatable. labels: (N,) for supervised kinds, else None."""
    model.eval()
    sums: dict[str, float] = {}
    state = torch.random.get_rng_state()
    torch.manual_seed(1234)
    with torch.no_grad():
        for first in range(0, len(x), batch_size):
            batch = x[first : first + batch_size]
            if labels is None:
                terms = model.loss(batch)
            else:
                terms = model.loss(batch, labels[first : first + batch_size])
            for key, value in terms.items():
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

"""Train a model on a dataset and write it, with its index, into the workspace."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.ensure import ensure_index
from app.index.fitting import IndexParams
from app.index.store import LatentIndex
from app.workspace import check_name, model_name
from models.base import LatentModel
from models.data import DatasetSpec
from models.errors import ConfigError
from models.registry import architecture, load_checkpoint, save_checkpoint
from models.training import TrainConfig, train

log = logging.getLogger(__name__)

DEFAULT_IMAGE_SIZE = 32


@dataclass
class TrainRequest:
    dataset: str = "digits"
    architecture: str = "vae"
    latent_dim: int = 8
    image_size: int = DEFAULT_IMAGE_SIZE
    channels: int | None = None
    size: int | None = None  # dataset items (shapes: how many to generate; others: a subset)
    colour: bool = False  # shapes only: coloured shapes on 3 channels
    data_dir: Path | None = None
    download: bool = False
    width: int = 16  # see models/conv.py; 16 trains digits in ~15 s on 2 cores at kNN ~0.95
    beta: float = 0.5
    train: TrainConfig | None = None
    name: str | None = None
    # The objective's own arguments, by name (noise for dae, temperature for simclr, margin
    # for siamese and triplet...): each must be one the kind takes.
    options: dict[str, Any] = field(default_factory=dict)
    # Anomaly detection (docs/anomaly.md): train on these classes only, or on all but these
    # (one of the two; names as the dataset labels them, or label codes).
    normal_classes: list[str] | None = None
    exclude_classes: list[str] | None = None


def model_args(
    cls: type[LatentModel], request: TrainRequest, image_shape: list[int]
) -> dict[str, Any]:
    """The kind's arguments from a request: the shared ones, beta where the kind has one, and
    the request's options, each refused by name when the kind does not take it."""
    takes = cls.config_class.argument_names()
    args: dict[str, Any] = {
        "image_shape": image_shape,
        "latent_dim": request.latent_dim,
        "width": request.width,
    }
    if "beta" in takes:
        args["beta"] = request.beta
    for key, value in request.options.items():
        if key not in takes:
            which = sorted(takes - {"image_shape", "latent_dim", "width"})
            raise ConfigError(
                f"model {cls.name!r} takes no {key!r} argument: it takes "
                f"{', '.join(which) or 'none of its own'}"
            )
        args[key] = value
    return args


def train_model(
    request: TrainRequest,
    workspace: Path,
    device: torch.device,
    index_params: IndexParams | None = None,
    build_index: bool = True,
) -> tuple[Path, LatentIndex | None]:
    """Load data, train, save the checkpoint atomically, then build its index."""
    cls = architecture(request.architecture)  # fail on a bad name before loading any data
    name = check_name(request.name or model_name(request.dataset, cls.name, request.latent_dim))
    choice = DatasetSpec(
        spec=request.dataset,
        image_size=request.image_size,
        channels=request.channels,
        size=request.size,
        seed=request.train.seed if request.train else 0,
        data_dir=request.data_dir,
        colour=request.colour,
        download=request.download,
    )
    data = choice.load()
    if data.skipped:
        log.warning("%s: skipped %d unreadable files", request.dataset, data.skipped)
    args = model_args(cls, request, list(data.image_shape))
    config = request.train or TrainConfig(epochs=cls.default_epochs)
    normal = choose_normal_classes(
        data.items.label_names, data.labels, request.normal_classes, request.exclude_classes
    )
    if normal is not None:
        config = replace(config, normal_classes=normal)
    torch.manual_seed(config.seed)  # the initial weights too come from the seed
    model = cls(cls.config_class.from_dict(args))
    result = train(model, data.images, config, device, labels=data.labels)
    folder = workspace / name
    save_checkpoint(
        model,
        folder,
        dataset=choice.record(data),
        training=result.to_dict() | {"config": vars(config)},
    )
    if not build_index:
        return folder, None
    model, info = load_checkpoint(folder, device)
    index, _ = ensure_index(folder, model, info, index_params or IndexParams(), device, data=data)
    return folder, index


def choose_normal_classes(
    label_names: tuple[str, ...],
    labels: np.ndarray | None,
    normal: list[str] | None,
    exclude: list[str] | None,
) -> list[int] | None:
    """The label codes to train on, from ``--normal-classes`` or ``--exclude-classes`` (class
    names as the dataset labels them, or codes); None when neither is given. ConfigError for
    both at once, an unlabelled dataset, an unknown class, or a choice that leaves no normal
    or no anomalous class."""
    if normal is None and exclude is None:
        return None
    if normal is not None and exclude is not None:
        raise ConfigError("give either --normal-classes or --exclude-classes, not both")
    if labels is None:
        raise ConfigError(
            "--normal-classes and --exclude-classes need a labelled dataset (digits, mnist, "
            "fashion-mnist, shapes, a folder of class subfolders); this one has no labels"
        )
    present = sorted(int(c) for c in np.unique(labels))
    names = {(label_names[c] if c < len(label_names) else str(c)): c for c in present} | {
        str(c): c for c in present
    }
    flag = "--normal-classes" if normal is not None else "--exclude-classes"
    chosen: set[int] = set()
    for token in [t.strip() for t in (normal if normal is not None else exclude) or []]:
        if token not in names:
            allowed = ", ".join(label_names[c] if c < len(label_names) else str(c) for c in present)
            raise ConfigError(f"{flag}: the dataset has no class {token!r}; its classes: {allowed}")
        chosen.add(names[token])
    codes = sorted(chosen) if normal is not None else [c for c in present if c not in chosen]
    if not chosen or not codes or len(codes) == len(present):
        raise ConfigError(
            f"{flag} must leave at least one normal class and at least one anomalous class "
            f"of the dataset's {len(present)}"
        )
    return codes

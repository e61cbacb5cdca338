"""The one list of model kinds (name -> class), and checkpoints loaded and saved through it.

A kind is a ``LatentModel`` subclass (models/base.py) with

* ``name``: the ``architecture`` its config.json records;
* ``config_class``: its arguments, checked by ``from_dict``;
* ``load(folder, info, device)``: how it rebuilds itself from a workspace folder;
* capability flags: ``trainable``, ``runs_code``, ``stored_latents`` on the class, and
  ``can_encode``/``can_decode`` on a loaded model (an import may come without a decoder;
  a decoder fitted afterwards, models/fitted_decoder.py, is taken on in ``load_checkpoint``).

The explorer reads those flags and never tests a kind's name. A new kind is one module
holding its class plus one entry in ``BUILT_IN`` below (or a ``register`` call, as tests
do). Importing this module imports every kind's module; none of them imports onnxruntime
or onnx before the first ONNX model loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import torch

from models.atomic import atomic_dir
from models.autoencoder import ConvAutoencoder
from models.base import LatentModel
from models.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CheckpointInfo,
    library_versions,
    read_info,
    sha256_file,
    write_config,
)
from models.dae import DenoisingAutoencoder
from models.embeddings import EmbeddingsModel
from models.errors import CheckpointError, ConfigError
from models.external import ExternalModel
from models.fitted_decoder import attach_fitted_decoder
from models.jepa import JEPA
from models.live import LiveModel
from models.onnx_model import OnnxModel
from models.siamese import Siamese
from models.simclr import SimCLR
from models.triplet import Triplet
from models.vae import ConvVAE

BUILT_IN: tuple[type[LatentModel], ...] = (
    ConvAutoencoder,
    ConvVAE,
    DenoisingAutoencoder,
    SimCLR,
    Siamese,
    Triplet,
    JEPA,
    ExternalModel,
    OnnxModel,
    EmbeddingsModel,
    LiveModel,  # in memory only: latent_explorer.from_torch
)
KINDS: dict[str, type[LatentModel]] = {}

K = TypeVar("K", bound=type[LatentModel])


def register(cls: K) -> K:
    """Make ``cls`` loadable by its ``name``; usable as a class decorator. A name already
    taken by another class is a ConfigError (one name, one kind)."""
    taken = KINDS.get(cls.name)
    if taken is not None and taken is not cls:
        by = f"{taken.__module__}.{taken.__qualname__}"
        raise ConfigError(f"model kind {cls.name!r} is already registered by {by}")
    KINDS[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Forget the kind ``name`` (a test's own kind, once the test is done)."""
    KINDS.pop(name, None)


for _kind in BUILT_IN:
    register(_kind)


def trainable_names() -> list[str]:
    """The architectures ``latent-explorer train`` can build, sorted."""
    return sorted(name for name, cls in KINDS.items() if cls.trainable)


def kind(name: str) -> type[LatentModel]:
    """The kind registered under ``name``; ConfigError otherwise. The message offers the
    trainable architectures: the imported kinds' names are written by the import commands,
    never chosen by hand."""
    try:
        return KINDS[name]
    except KeyError:
        allowed = ", ".join(trainable_names())
        raise ConfigError(f"unknown model architecture {name!r}: choose one of {allowed}") from None


def architecture(name: str) -> type[LatentModel]:
    """The trainable kind ``name``; ConfigError listing the trainable ones otherwise."""
    cls = kind(name)
    if not cls.trainable:
        allowed = ", ".join(trainable_names())
        raise ConfigError(
            f"model architecture {name!r} is imported, not trained here: choose one of {allowed}"
        )
    return cls


def build_model(name: str, args: dict[str, Any]) -> LatentModel:
    """An untrained model of the trainable architecture ``name`` from JSON-style arguments."""
    cls = architecture(name)
    return cls(cls.config_class.from_dict(args))


def load_checkpoint(
    folder: Path, device: torch.device | str = "cpu", *, trust_code: bool = False
) -> tuple[LatentModel, CheckpointInfo]:
    """Rebuild the model of a workspace folder through its kind, on ``device``, in eval mode.

    trust_code: also load kinds that import Python code config.json names; a workspace is
                data, so its files alone must not run code (--trust-code on the CLI).
    """
    folder = Path(folder)
    info = read_info(folder)
    try:
        cls = kind(info.architecture)
    except ConfigError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: {exc}") from None
    if cls.runs_code and not trust_code:
        named = info.args.get("class_path", "?")
        raise CheckpointError(
            f"{folder / CONFIG_FILE}: this model runs Python code ({named}), imported only "
            "when you allow it: pass --trust-code (or set LATENT_EXPLORER_TRUST_CODE=1) if you "
            "trust this workspace and that code"
        )
    model = cls.load(folder, info, device)
    if info.fitted_decoder:  # every kind alike: the one place a fitted decoder is taken on
        model = attach_fitted_decoder(model, folder, info)
    model.to(device).eval()
    return model, info


def save_checkpoint(
    model: LatentModel,
    folder: Path,
    *,
    dataset: dict[str, Any],
    training: dict[str, Any] | None = None,
) -> CheckpointInfo:
    """Write a trained model's checkpoint folder atomically (see models/atomic.py)."""
    from safetensors.torch import save_file

    with atomic_dir(Path(folder)) as tmp:
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE))
        info = CheckpointInfo(
            architecture=model.name,
            args=model.config.to_dict(),
            dataset=dataset,
            training=training or {},
            versions=library_versions(),
            weights_sha256=sha256_file(tmp / WEIGHTS_FILE),
        )
        write_config(info, tmp)
    return info

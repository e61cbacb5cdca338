"""A decoder fitted afterwards to a model that has none, and how a loaded model takes it on.

``latent-explorer fit-decoder`` (models/decoder_fit.py trains it, app/services/fit_decoder.py
drives it) stores, beside the model's own files::

    fitted_decoder.safetensors   a ``FittedDecoder``'s tensors
    config.json                  a ``fitted_decoder`` section: file, sha256, config (image
                                 shape, latent size, width), epochs, seed, held-out figures

``attach_fitted_decoder`` is the one place a loaded model takes it on, for every kind alike
(models/registry.py calls it): the model keeps its own class, name and encoder, and gains
``can_decode`` True, ``decode`` through the fitted decoder and ``decoder_source`` "fitted".
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from models.atomic import atomic_update
from models.base import LatentModel
from models.checkpoint import (
    CONFIG_FILE,
    CheckpointInfo,
    load_weights,
    sha256_file,
    verify_file,
    write_config,
)
from models.conv import ConvDecoder
from models.errors import CheckpointError

FITTED_DECODER_FILE = "fitted_decoder.safetensors"
SECTION = "fitted_decoder"  # the key in config.json


class FittedDecoder(nn.Module):
    """(B, D) latents -> (B, C, H, W) images in [0, 1]: the AE's ``ConvDecoder`` after a
    standardisation of each latent dimension by the training items' mean and spread, because
    a latent not learnt with this decoder may have any scale (a contrastive latent, imported
    vectors), while the AE's decoder is tuned for inputs of order 1."""

    mean: torch.Tensor  # (D,) buffer
    scale: torch.Tensor  # (D,) buffer

    def __init__(self, image_shape: tuple[int, int, int], width: int, latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.width = width
        self.latent_dim = latent_dim
        self.register_buffer("mean", torch.zeros(latent_dim))  # (D,)
        self.register_buffer("scale", torch.ones(latent_dim))  # (D,)
        self.decoder = ConvDecoder(image_shape, width, latent_dim)

    def set_standardisation(self, latents: torch.Tensor) -> None:
        """Take the mean and spread of (N, D) training latents; a constant dimension keeps
        scale 1 rather than dividing by zero."""
        std = latents.std(dim=0) if len(latents) > 1 else torch.ones(self.latent_dim)
        self.mean.copy_(latents.mean(dim=0))
        self.scale.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, C, H, W) logits."""
        return self.decoder((z - self.mean) / self.scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))  # (B, C, H, W) in [0, 1]

    def config(self) -> dict[str, Any]:
        """The arguments that rebuild it (the ``config`` of the section)."""
        return {
            "image_shape": list(self.image_shape),
            "latent_dim": self.latent_dim,
            "width": self.width,
        }


class FittedDecoding(LatentModel):
    """What a loaded model gains with a fitted decoder; mixed in before its own class."""

    fitted_decoder: FittedDecoder

    @property
    def can_decode(self) -> bool:
        return True

    @property
    def decoder_source(self) -> str:
        return "fitted"

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.fitted_decoder(z))  # (B, C, H, W) in [0, 1]


_WITH_FITTED: dict[type[LatentModel], type[LatentModel]] = {}


def with_fitted_decoder(cls: type[LatentModel]) -> type[LatentModel]:
    """``cls`` with ``FittedDecoding`` first in its method order; one class per kind, made
    on first use (a kind registered later, a user's class, works alike)."""
    if issubclass(cls, FittedDecoding):
        return cls
    if cls not in _WITH_FITTED:
        _WITH_FITTED[cls] = type(f"{cls.__name__}WithFittedDecoder", (FittedDecoding, cls), {})
    return _WITH_FITTED[cls]


def decoder_from_section(folder: Path, section: dict[str, Any]) -> FittedDecoder:
    """Rebuild and load the fitted decoder config.json's section names; CheckpointError
    naming the file when the section is malformed or the weights do not match it."""
    try:
        args = section["config"]
        c, h, w = (int(v) for v in args["image_shape"])
        decoder = FittedDecoder((c, h, w), int(args["width"]), int(args["latent_dim"]))
        sha = str(section["sha256"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{folder / CONFIG_FILE}: malformed {SECTION} section ({exc!r}); "
            "run `latent-explorer fit-decoder` again"
        ) from None
    weights = folder / FITTED_DECODER_FILE
    verify_file(weights, sha, f"{CONFIG_FILE} names a fitted decoder", "fit-decoder")
    load_weights(weights, decoder, fits="the fitted decoder", needs="its config")
    return decoder.eval()


def attach_fitted_decoder(model: LatentModel, folder: Path, info: CheckpointInfo) -> LatentModel:
    """``model`` decoding through the fitted decoder its folder holds (``info`` is its
    config.json, whose section says there is one)."""
    decoder = decoder_from_section(folder, info.fitted_decoder)
    if decoder.latent_dim != model.latent_dim or decoder.image_shape != model.image_shape:
        raise CheckpointError(
            f"{folder / FITTED_DECODER_FILE}: fitted for latents of {decoder.latent_dim} and "
            f"images {decoder.image_shape}, but the model has {model.latent_dim} and "
            f"{model.image_shape}; run `latent-explorer fit-decoder` again"
        )
    model.__class__ = with_fitted_decoder(type(model))
    model.add_module("fitted_decoder", decoder)  # a submodule: it follows .to(device)
    return model


def write_fitted_decoder(
    folder: Path, info: CheckpointInfo, decoder: FittedDecoder, figures: dict[str, Any]
) -> CheckpointInfo:
    """Store ``decoder`` beside the model in ``folder`` (replacing any fitted before) with
    config.json's section holding its config, its file's SHA-256 and ``figures`` (epochs,
    seed, held-out errors). All at once (models/atomic.py): a failure or Ctrl-C half-way
    leaves the folder as it was. Returns the new config."""
    from safetensors.torch import save_file

    with atomic_update(folder, replacing=(CONFIG_FILE, FITTED_DECODER_FILE)) as tmp:
        state = {k: v.detach().to("cpu").contiguous() for k, v in decoder.state_dict().items()}
        save_file(state, str(tmp / FITTED_DECODER_FILE))
        section = {
            "file": FITTED_DECODER_FILE,
            "sha256": sha256_file(tmp / FITTED_DECODER_FILE),
            "config": decoder.config(),
            **figures,
        }
        new = replace(info, fitted_decoder=section)
        write_config(new, tmp)
    return new

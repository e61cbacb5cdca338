"""What the imported kinds (``pytorch-class`` and ``onnx``) share.

An imported model was not written against ``LatentModel``, so its adapter converts on the
way in and out and checks what comes back:

* pixels: the explorer works in [0, 1]; a model trained on another range (``[-1, 1]`` is
  common) gets ``lo + x * (hi - lo)`` and its output is mapped back and clamped into [0, 1];
* outputs: a tuple or list is taken to be ``(latents, ...)`` (a VAE's ``(mu, logvar)``), so
  element 0 is used; latents must be (B, D) and images (B, C, H, W) of the dataset's shape.

Every failure is a ``ModelCodeError`` on one line that names where (a file, a method) and what.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from models.base import MAX_LATENT_DIM, MIN_MAPPED_DIM, LatentModel, ModelConfig
from models.errors import ConfigError, ModelCodeError

UNIT_RANGE = (0.0, 1.0)
ONE_LINE_LIMIT = 300  # long enough for an exception's gist, short enough for one line
DETERMINISM_TOLERANCE = 1e-5  # threaded float32 kernels may differ in the last bits
OUTPUT_RULE = "a tuple or list counts as (latents, ...) and its first element is used"


def check_pixel_range(value: Sequence[Any]) -> tuple[float, float]:
    """Two finite numbers ``lo < hi``; ConfigError naming the value otherwise."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"pixel range must be two numbers LOW HIGH, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"pixel range must be two finite numbers LOW < HIGH, got [{lo}, {hi}]")
    return lo, hi


def to_model_range(x: torch.Tensor, pixel_range: tuple[float, float]) -> torch.Tensor:
    """[0, 1] pixels -> the range the model was trained on."""
    lo, hi = pixel_range
    if (lo, hi) == UNIT_RANGE:
        return x
    return x * (hi - lo) + lo


def from_model_range(y: torch.Tensor, pixel_range: tuple[float, float]) -> torch.Tensor:
    """The model's output range -> [0, 1], clamped: the explorer turns it into 8-bit pixels."""
    lo, hi = pixel_range
    if (lo, hi) != UNIT_RANGE:
        y = (y - lo) / (hi - lo)
    return y.clamp(0.0, 1.0)


def one_line(text: str, limit: int = ONE_LINE_LIMIT) -> str:
    """Whitespace (newlines too) collapsed, cut at ``limit`` characters: error messages are
    one line however long the foreign exception was."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def first_output(out: object, where: str) -> torch.Tensor:
    """``out`` itself, or element 0 of a tuple/list; it must be a tensor."""
    if isinstance(out, tuple | list):
        if not out:
            raise ModelCodeError(f"{where} returned an empty {type(out).__name__}")
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise ModelCodeError(f"{where} returned {type(out).__name__}, not a tensor ({OUTPUT_RULE})")
    return out


def check_latents(z: torch.Tensor, batch: int, where: str, latent_dim: int | None = None) -> int:
    """``z`` must be (batch, D), D in MIN_MAPPED_DIM..MAX_LATENT_DIM (``latent_dim`` if given).

    Only shapes are compared, never turned into ints on the batch side, so this also runs
    while torch.onnx traces the adapter with a symbolic batch size."""
    if z.ndim != 2 or z.shape[0] != batch:
        raise ModelCodeError(
            f"{where} returned shape {tuple(z.shape)} for {batch} images; latents must be "
            f"2-D, (batch, latent_dim) = ({batch}, D) ({OUTPUT_RULE})"
        )
    dim = z.shape[1]
    wrong = latent_dim is not None and dim != latent_dim
    if wrong or not MIN_MAPPED_DIM <= dim <= MAX_LATENT_DIM:
        wanted = latent_dim if latent_dim is not None else f"{MIN_MAPPED_DIM} to {MAX_LATENT_DIM}"
        raise ModelCodeError(f"{where} returned latents of dimension {dim}, expected {wanted}")
    return int(dim)


def check_images(
    y: torch.Tensor, batch: int, image_shape: tuple[int, int, int], where: str
) -> None:
    """``y`` must be (batch, C, H, W) with (C, H, W) the dataset's image shape."""
    if y.ndim != 4 or y.shape[0] != batch or tuple(y.shape[1:]) != tuple(image_shape):
        c, h, w = image_shape
        raise ModelCodeError(
            f"{where} returned shape {tuple(y.shape)} for {batch} latents; the dataset's "
            f"images are {c}x{h}x{w}, so it must return ({batch}, {c}, {h}, {w})"
        )


@torch.inference_mode()
def verify_on_sample(model: LatentModel, images: torch.Tensor, where: str) -> torch.Tensor:
    """Encode (and decode) a sample batch of the dataset through the adapter; the latents.

    The adapter checks shapes on every call; finiteness and determinism are checked here
    only, as they need the values (and so cannot be part of a traced graph).
    """
    z = model.encode(images)  # (B, D)
    if not torch.isfinite(z).all():
        raise ModelCodeError(f"{where}: the encoder returned NaN or infinite latents")
    # The index, uploads and the map all assume an image has one place: a VAE encoder that
    # samples (mu + sigma * eps) instead of returning mu would scatter it on every call.
    spread = float((model.encode(images) - z).abs().max())
    if spread > DETERMINISM_TOLERANCE * (1.0 + float(z.abs().max())):
        raise ModelCodeError(
            f"{where}: encoding the same images twice gave latents up to {spread:.3g} apart; "
            "the encoder must be deterministic (return the mean, not a sample)"
        )
    if model.can_decode:
        y = model.decode(z)  # (B, C, H, W)
        if not torch.isfinite(y).all():
            raise ModelCodeError(f"{where}: the decoder returned NaN or infinite pixels")
    return z


@dataclass
class ImportedConfig(ModelConfig):
    """What both imported kinds add to ``ModelConfig``: the pixel range the model expects."""

    pixel_range: tuple[float, float] = UNIT_RANGE

    def validate(self) -> None:
        super().validate()
        self.pixel_range = check_pixel_range(self.pixel_range)  # JSON gives a list

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["pixel_range"] = list(self.pixel_range)
        return out

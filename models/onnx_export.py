"""Export a model's encoder (and decoder) to ONNX, and prove the files compute the same thing.

``torch.onnx.export(..., dynamo=True)`` traces ``LatentModel.encode``/``decode`` (wrapped in
two small modules) with a dynamic batch dimension; onnxruntime then runs the files on a
sample batch of the model's own dataset, and on a single item (batch size 1, as an upload
is served), and each must agree with torch within ``atol + rtol * max|torch output|``.
The folder is written whole or not at all (models/atomic.py)::

    OUT/encoder.onnx    images (batch, C, H, W) in [0, 1] -> latents (batch, D)
    OUT/decoder.onnx    latents (batch, D) -> images (batch, C, H, W) in [0, 1]
    OUT/export.json     what was exported and the differences measured

The files take and give [0, 1] pixels whatever range the model works in (the adapter's
conversion is part of the traced graph), so they import with the default pixel range.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.atomic import atomic_dir
from models.base import LatentModel
from models.errors import ConfigError, ModelCodeError
from models.imported import one_line
from models.onnx_model import DECODER_FILE, ENCODER_FILE, OnnxModel, OnnxRunner, open_runners

log = logging.getLogger(__name__)

EXPORT_FILE = "export.json"
OUR_FILES = {ENCODER_FILE, DECODER_FILE, EXPORT_FILE}
TOLERANCE = 1e-4  # float32 graphs agree to ~1e-6 here; 1e-4 leaves room for fused kernels
# The exporter's optimiser logs every pass at INFO, which the CLI's INFO logging would print.
CHATTY_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx")


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _Encode(nn.Module):
    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x)  # (B, C, H, W) -> (B, D)


class _Decode(nn.Module):
    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z)  # (B, D) -> (B, C, H, W)


@dataclass
class ExportReport:
    """What ``export_onnx`` wrote and how closely onnxruntime matched torch, per file."""

    folder: str
    files: list[str]
    image_shape: list[int]
    latent_dim: int
    max_abs_difference: dict[str, float]
    tolerance: float
    versions: dict[str, str]


def _check_out(out: Path) -> None:
    """``out`` is replaced whole: refuse a folder holding anything an export did not write."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUR_FILES)
        if foreign:
            raise ConfigError(
                f"{out}: folder is not empty ({', '.join(foreign[:3])}...); the export replaces "
                "the whole folder, so choose a new or empty one"
            )


def _export(module: nn.Module, sample: torch.Tensor, names: tuple[str, str], path: Path) -> None:
    batch = torch.export.Dim("batch")
    try:
        with _quiet_exporter():
            program = torch.onnx.export(
                module,
                (sample,),
                dynamo=True,
                dynamic_shapes=({0: batch},),
                input_names=[names[0]],
                output_names=[names[1]],
                verbose=False,
            )
    except ModelCodeError:
        raise
    except Exception as exc:  # torch.export reports untraceable code in many exception types
        raise ModelCodeError(
            f"{path.name}: torch.onnx.export failed: {type(exc).__name__}: {one_line(str(exc))}"
        ) from None
    assert program is not None  # dynamo=True always returns the program
    program.save(str(path))


def _compare(ours: np.ndarray, theirs: torch.Tensor, path: Path, tolerance: float) -> float:
    """Max |onnxruntime - torch|; ModelCodeError naming the file when above
    ``tolerance * (1 + max|torch|)`` (absolute near zero, relative for large outputs)."""
    reference = theirs.detach().cpu().numpy()
    if ours.shape != reference.shape:
        raise ModelCodeError(
            f"{path.name}: onnxruntime gives shape {ours.shape}, torch {reference.shape}"
        )
    diff = float(np.abs(ours.astype(np.float64) - reference).max())
    allowed = tolerance * (1.0 + float(np.abs(reference).max()))
    if not diff <= allowed:  # also catches NaN
        raise ModelCodeError(
            f"{path.name}: onnxruntime's output differs from the torch model's by up to "
            f"{diff:.3g} on the sample batch (allowed {allowed:.3g}): the export is not faithful"
        )
    return diff


def _measure(
    enc: OnnxRunner,
    dec: OnnxRunner | None,
    images: torch.Tensor,
    latents: torch.Tensor,
    recon: torch.Tensor | None,
    out: Path,
    tolerance: float,
) -> dict[str, float]:
    """Max difference per file between onnxruntime and torch (``_compare``), on the whole
    sample and then on one item: a batch size other than the traced one."""
    diffs: dict[str, float] = {}
    for batch in (slice(None), slice(0, 1)):
        z = enc.run(images[batch].numpy())
        diff = _compare(z, latents[batch], out / ENCODER_FILE, tolerance)
        diffs[ENCODER_FILE] = max(diffs.get(ENCODER_FILE, 0.0), diff)
        if dec is not None and recon is not None:
            y = dec.run(latents[batch].numpy())
            diff = _compare(y, recon[batch], out / DECODER_FILE, tolerance)
            diffs[DECODER_FILE] = max(diffs.get(DECODER_FILE, 0.0), diff)
    return diffs


def export_onnx(
    model: LatentModel, images: torch.Tensor, out: Path, *, tolerance: float = TOLERANCE
) -> ExportReport:
    """Write ``out`` with the model's encoder (and decoder) as ONNX, checked against torch on
    ``images`` ((B, C, H, W) in [0, 1], B >= 2 so the batch dimension stays symbolic)."""
    import onnx
    import onnxruntime

    if isinstance(model, OnnxModel):
        raise ConfigError(
            f"this model is ONNX already: its files are {model.encoder.path}"
            + (f" and {model.decoder.path}" if model.decoder is not None else "")
        )
    if not model.can_encode:
        raise ConfigError("this model has no encoder to export (precomputed embeddings)")
    if len(images) < 2:
        raise ConfigError("the sample batch needs at least 2 images")
    out = Path(out)
    _check_out(out)
    model = model.cpu().eval()
    images = images.cpu()
    with torch.inference_mode():
        latents = model.encode(images)  # (B, D)
        recon = model.decode(latents) if model.can_decode else None  # (B, C, H, W)
    # Inference-mode tensors cannot enter torch.export's tracing: plain copies.
    latents, recon = latents.clone(), recon.clone() if recon is not None else None
    with atomic_dir(out) as tmp:
        _export(_Encode(model).eval(), images, ("images", "latents"), tmp / ENCODER_FILE)
        if recon is not None:
            _export(_Decode(model).eval(), latents, ("latents", "images"), tmp / DECODER_FILE)
        decoder = tmp / DECODER_FILE if recon is not None else None
        enc, dec = open_runners(tmp / ENCODER_FILE, decoder, "cpu")
        diffs = _measure(enc, dec, images, latents, recon, out, tolerance)
        report = ExportReport(
            folder=str(out),
            files=sorted(diffs),
            image_shape=list(model.image_shape),
            latent_dim=model.latent_dim,
            max_abs_difference=diffs,
            tolerance=tolerance,
            versions={
                "torch": torch.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
        )
        (tmp / EXPORT_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report

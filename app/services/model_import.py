"""Import a model trained elsewhere into the workspace, or export a workspace model to ONNX.

Two kinds of import, each checked on a sample batch of the dataset before anything is written:

* ``pytorch-class``: the user's own ``nn.Module`` class (``mypkg.vae:MyVAE``) with its
  weights in safetensors (models/external.py);
* ``onnx``: an encoder (and optionally a decoder) exported to ONNX (models/onnx_model.py).

The model folder (config.json, the copied files) and its index are written in one atomic
step: the index is built inside the temporary folder from the model as loaded back from
there, so a failure anywhere, including a model that only fails on some dataset item, leaves
the workspace as it was, and what is renamed into place is known to load.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.build import dataset_for
from app.index.ensure import ensure_index
from app.index.fitting import IndexParams
from app.index.store import LatentIndex
from app.workspace import check_name, model_dir, model_name
from models.atomic import atomic_dir
from models.base import LatentModel
from models.checkpoint import (
    WEIGHTS_FILE,
    CheckpointInfo,
    sha256_file,
    write_config,
)
from models.data import DatasetSpec, ImageSet
from models.errors import ConfigError
from models.imported import (
    UNIT_RANGE,
    check_latents,
    check_pixel_range,
    to_model_range,
    verify_on_sample,
)
from models.onnx_export import ExportReport, export_onnx
from models.registry import load_checkpoint
from models.training import as_float

log = logging.getLogger(__name__)

SAMPLE_ITEMS = 16  # checked before writing: enough to catch a wrong shape or a NaN
EXPORT_SAMPLE_ITEMS = 32  # compared between torch and onnxruntime after an export


@dataclass
class PytorchImport:
    """``import-model --class``: the user's class, its weights and how to call it."""

    class_path: str
    weights: Path
    dataset: DatasetSpec
    config: Path | None = None  # JSON object of keyword arguments for the class
    encode_method: str = "encode"
    decode_method: str | None = "decode"  # None: encoder only
    pixel_range: tuple[float, float] = UNIT_RANGE


@dataclass
class OnnxImport:
    """``import-model --encoder-onnx``: exported files, no code."""

    encoder: Path
    dataset: DatasetSpec
    decoder: Path | None = None
    pixel_range: tuple[float, float] = UNIT_RANGE


@dataclass
class ImportResult:
    folder: Path
    info: CheckpointInfo
    index: LatentIndex


def read_kwargs(path: Path) -> dict[str, Any]:
    """A JSON object of keyword arguments; ConfigError naming the line and column otherwise."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: not UTF-8 text (a JSON object of arguments is needed)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: must hold a JSON object of keyword arguments, "
            f'e.g. {{"latent_dim": 8}}, not a {type(data).__name__}'
        )
    return data


def sample_images(data: ImageSet, n: int, seed: int = 0) -> torch.Tensor:
    """A seeded sample of ``n`` items (all when fewer) as floats in [0, 1]: (n, C, H, W)."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(data), min(n, len(data)), replace=False))
    return as_float(np.asarray(data.images[pick]), torch.device("cpu"))


def _target(workspace: Path, name: str, overwrite: bool) -> Path:
    folder = model_dir(workspace, name)
    if folder.exists() and not overwrite:
        raise ConfigError(f"{folder} already exists: choose another --name or pass --force")
    return folder


def write_model(
    folder: Path,
    info: CheckpointInfo,
    files: dict[str, Path],
    data: ImageSet,
    device: torch.device,
    params: IndexParams,
) -> tuple[CheckpointInfo, LatentIndex]:
    """Copy ``files`` (name in the folder -> source), write config.json, load the folder
    back as the server will and build its index, all before the rename (see the module)."""
    with atomic_dir(folder) as tmp:
        for name, source in files.items():
            shutil.copyfile(source, tmp / name)
        write_config(info, tmp)
        # The user named the code on this command line: importing it is what they asked for.
        model, loaded_info = load_checkpoint(tmp, device, trust_code=True)
        index, _ = ensure_index(tmp, model, loaded_info, params, device, data=data, force=True)
    return loaded_info, index


def import_pytorch(
    request: PytorchImport,
    workspace: Path,
    device: torch.device,
    *,
    name: str | None = None,
    overwrite: bool = False,
    params: IndexParams | None = None,
) -> ImportResult:
    """Check the class on a sample of the dataset, then write ``workspace/<name>``."""
    from models.external import (
        ExternalConfig,
        ExternalModel,
        build_user_code,
        measure_latent_dim,
        parse_class_path,
    )

    class_name = parse_class_path(request.class_path)[1]
    if name is not None:
        _target(workspace, check_name(name), overwrite)  # fail before any work
    kwargs = read_kwargs(request.config) if request.config is not None else {}
    if not Path(request.weights).is_file():
        raise ConfigError(f"{request.weights}: no such file")
    pixel_range = check_pixel_range(request.pixel_range)
    methods = (request.encode_method, request.decode_method)
    code = build_user_code(request.class_path, kwargs, Path(request.weights), methods)
    data = request.dataset.load()
    sample = sample_images(data, SAMPLE_ITEMS)
    latent_dim = measure_latent_dim(code, request.encode_method, sample, pixel_range)
    config = ExternalConfig(
        image_shape=data.image_shape,
        latent_dim=latent_dim,
        class_path=request.class_path,
        kwargs=kwargs,
        encode_method=request.encode_method,
        decode_method=request.decode_method,
        pixel_range=pixel_range,
    )
    verify_on_sample(ExternalModel(config, code), sample, request.class_path)
    name = check_name(name or model_name(request.dataset.spec, class_name.lower(), latent_dim))
    folder = _target(workspace, name, overwrite)
    info = CheckpointInfo(
        architecture=ExternalModel.name,
        args=config.to_dict(),
        dataset=request.dataset.record(data),
        training={
            "imported": {
                "class": request.class_path,
                "weights": str(Path(request.weights).resolve()),
                "config": str(Path(request.config).resolve()) if request.config else None,
            }
        },
        weights_sha256=sha256_file(Path(request.weights)),
    )
    files = {WEIGHTS_FILE: Path(request.weights)}
    info, index = write_model(folder, info, files, data, device, params or IndexParams())
    log.info("%s: %s imported (latent dimension %d)", name, request.class_path, latent_dim)
    return ImportResult(folder, info, index)


def import_onnx(
    request: OnnxImport,
    workspace: Path,
    device: torch.device,
    *,
    name: str | None = None,
    overwrite: bool = False,
    params: IndexParams | None = None,
) -> ImportResult:
    """Check the ONNX files on a sample of the dataset, then write ``workspace/<name>``."""
    from models.onnx_model import (
        DECODER_FILE,
        ENCODER_FILE,
        OnnxConfig,
        OnnxModel,
        files_digest,
        open_runners,
    )

    if name is not None:
        _target(workspace, check_name(name), overwrite)
    pixel_range = check_pixel_range(request.pixel_range)
    enc, dec = open_runners(Path(request.encoder), request.decoder, "cpu")
    data = request.dataset.load()
    c, h, w = data.image_shape
    enc.check_input((c, h, w), "the dataset's images (channels, height, width)")
    sample = sample_images(data, SAMPLE_ITEMS)
    # D from the encoder itself: run it once (a declared output size may be symbolic).
    z = torch.from_numpy(enc.run(to_model_range(sample, pixel_range).numpy()))
    latent_dim = check_latents(z, len(sample), f"{enc.path}: the encoder")
    if dec is not None:
        dec.check_input((latent_dim,), "the encoder's latents (dimension)")
    files = {ENCODER_FILE: Path(request.encoder)}
    if request.decoder is not None:
        files[DECODER_FILE] = Path(request.decoder)
    config = OnnxConfig(
        image_shape=data.image_shape,
        latent_dim=latent_dim,
        decoder=DECODER_FILE if dec is not None else None,
        files_sha256={n: sha256_file(p) for n, p in files.items()},
        pixel_range=pixel_range,
    )
    verify_on_sample(OnnxModel(config, enc, dec), sample, str(request.encoder))
    name = check_name(name or model_name(request.dataset.spec, "onnx", latent_dim))
    folder = _target(workspace, name, overwrite)
    info = CheckpointInfo(
        architecture=OnnxModel.name,
        args=config.to_dict(),
        dataset=request.dataset.record(data),
        training={"imported": {n: str(p.resolve()) for n, p in files.items()}},
        weights_sha256=files_digest(config.files_sha256),
    )
    info, index = write_model(folder, info, files, data, device, params or IndexParams())
    log.info("%s: ONNX %s imported (latent dimension %d)", name, ", ".join(files), latent_dim)
    return ImportResult(folder, info, index)


def export_model(
    workspace: Path, name: str, out: Path, *, trust_code: bool = False
) -> ExportReport:
    """Export the workspace model ``name`` to ONNX in ``out``, checked on its own dataset.
    Runs on the CPU: the files are device-neutral. ``trust_code``: see ``load_checkpoint``."""
    folder = model_dir(workspace, name)
    model: LatentModel
    model, info = load_checkpoint(folder, "cpu", trust_code=trust_code)
    if model.stored_latents:
        raise ConfigError(f"{folder}: precomputed embeddings have no encoder to export")
    sample = sample_images(dataset_for(info), EXPORT_SAMPLE_ITEMS)
    return export_onnx(model, sample, Path(out))

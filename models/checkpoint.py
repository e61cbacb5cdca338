"""Checkpoint files: the JSON config that names a model's kind, hashes and safetensors weights.

A checkpoint is a folder::

    config.json         architecture (the kind's name), its arguments, dataset, image shape,
                        normalisation, training metrics, versions, and the SHA-256 of the
                        weights file
    model.safetensors   the state dict, nothing else (no pickle anywhere)

``torch.load`` is never called: a file that is not safetensors cannot run code here.
Every failure is a ``CheckpointError`` whose message names the file and the problem.
Which class rebuilds the model is the registry's business: ``load_checkpoint`` and
``save_checkpoint`` live in models/registry.py; this module knows only the files.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from models.errors import CheckpointError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "latent-explorer-checkpoint"
FORMAT_VERSION = 1


@dataclass
class CheckpointInfo:
    """What config.json says besides the architecture arguments."""

    architecture: str
    args: dict[str, Any]
    dataset: dict[str, Any]
    training: dict[str, Any] = field(default_factory=dict)
    normalisation: dict[str, Any] = field(
        default_factory=lambda: {"range": [0.0, 1.0], "background": 0.0}
    )
    versions: dict[str, str] = field(default_factory=dict)
    weights_sha256: str = ""
    # A decoder fitted afterwards to a model without one (models/fitted_decoder.py): its file,
    # SHA-256, architecture arguments and held-out figures; empty when there is none.
    fitted_decoder: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.args["image_shape"]
        return (int(c), int(h), int(w))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str | None, needed: str, written_by: str) -> None:
    """CheckpointError unless ``path`` exists with the SHA-256 config.json recorded for it.

    needed:     why the file must be there ("a checkpoint folder needs model.safetensors")
    written_by: what wrote it ("saving", "import"), to say when it was changed
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: missing ({needed})")
    if sha256_file(path) != sha256:
        raise CheckpointError(
            f"{path}: contents do not match the checksum in {CONFIG_FILE} "
            f"(the file was changed or damaged after {written_by})"
        )


def library_versions() -> dict[str, str]:
    import numpy
    import safetensors

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "safetensors": safetensors.__version__,
        "format": str(FORMAT_VERSION),
    }


def write_config(info: CheckpointInfo, folder: Path) -> None:
    """Write ``folder/config.json`` for ``info`` (inside an ``atomic_dir``: not atomic itself)."""
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": info.architecture,
        "args": info.args,
        "image_shape": info.args["image_shape"],
        "dataset": info.dataset,
        "normalisation": info.normalisation,
        "training": info.training,
        "versions": info.versions or library_versions(),
        "weights_sha256": info.weights_sha256,
    }
    if info.fitted_decoder:  # absent otherwise: configs without one read as before
        config["fitted_decoder"] = info.fitted_decoder
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def read_info(folder: Path) -> CheckpointInfo:
    """Parse and check config.json without touching the weights."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (a checkpoint folder needs {CONFIG_FILE})")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a latent-explorer checkpoint config")
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format version {data.get('format_version')!r} is not supported "
            f"(this build reads version {FORMAT_VERSION})"
        )
    try:
        return CheckpointInfo(
            architecture=str(data["architecture"]),
            args=dict(data["args"]),
            dataset=dict(data["dataset"]),
            training=dict(data.get("training", {})),
            normalisation=dict(data.get("normalisation", {})),
            versions=dict(data.get("versions", {})),
            weights_sha256=str(data["weights_sha256"]),
            fitted_decoder=dict(data.get("fitted_decoder") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: missing or malformed field {exc}") from None


def load_weights(
    weights: Path, model: torch.nn.Module, *, fits: str, needs: str = "the architecture"
) -> None:
    """Load a safetensors file into ``model`` strictly: every tensor name and shape must match.

    ``fits``/``needs`` say what the tensors are for in the messages ("architecture 'vae'").
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{weights}: not a readable safetensors file ({exc}){_pickle_hint(weights)}"
        ) from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights}: tensors do not fit {fits} "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(
                f"{weights}: tensor {key!r} has shape {tuple(tensor.shape)}, "
                f"{needs} needs {tuple(expected[key].shape)}"
            )
    model.load_state_dict(state)


def _pickle_hint(weights: Path) -> str:
    """Why a file safetensors refused may have been given: it is a pickle. Only sniffed after
    the refusal, as a safetensors header length can start with the same bytes."""
    with weights.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        kind = "a zip archive, the format of torch.save"
    elif head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        kind = "a Python pickle"
    else:
        return ""
    return f"; it is {kind}, which is never loaded here because unpickling can run any code"

"""The Embedding Projector's standalone form: a ``projector_config.json`` listing tensors.

    {"embeddings": [{"tensorName": "Mnist", "tensorShape": [10000, 784],
                     "tensorPath": "mnist_tensors.bytes", "metadataPath": "labels.tsv",
                     "sprite": {"imagePath": "sprite.png", "singleImageDim": [28, 28]}}]}

Each tensor becomes one ``VectorFiles`` (app/services/vector_files.py): its vectors (raw
float32 ``.bytes`` of ``tensorShape``, or any vectors file the importer reads), its metadata
and its sprite, with paths relative to the config file. Only local files: a URL is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.services.table_files import read_text
from app.services.vector_files import VectorFiles
from models.errors import DatasetError


@dataclass(frozen=True)
class ProjectorTensor:
    name: str  # tensorName (or the tensor file's name when it has none)
    files: VectorFiles


def read_projector_config(
    path: Path, template: VectorFiles, tensor: str | None = None
) -> list[ProjectorTensor]:
    """Every tensor ``path`` lists (or the one named ``tensor``), each as ``template`` with
    that tensor's files and shape; nothing is read but the config itself."""
    try:
        config = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} line {exc.lineno}: not JSON ({exc.msg})") from None
    entries = config.get("embeddings") if isinstance(config, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DatasetError(f'{path}: expected an object with a non-empty list "embeddings"')
    tensors = [_tensor(path, i, entry, template) for i, entry in enumerate(entries)]
    if tensor is None:
        return tensors
    chosen = [t for t in tensors if t.name == tensor]
    if not chosen:
        raise DatasetError(
            f"{path} has no tensor {tensor!r}: its tensors are "
            f"{', '.join(repr(t.name) for t in tensors)}"
        )
    return chosen[:1]


def _tensor(config: Path, i: int, entry: Any, template: VectorFiles) -> ProjectorTensor:
    where = f"{config}, embeddings[{i}]"
    if not isinstance(entry, dict):
        raise DatasetError(f"{where}: expected an object with tensorPath")
    tensor_path = _local(config, where, "tensorPath", entry.get("tensorPath"))
    if tensor_path is None:
        raise DatasetError(f"{where}: no tensorPath (the file of the vectors)")
    name = entry.get("tensorName") or tensor_path.stem
    if not isinstance(name, str):
        raise DatasetError(f"{where}: tensorName must be text")
    shape = entry.get("tensorShape")
    if shape is not None and not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
    ):
        raise DatasetError(f"{where}: tensorShape {shape!r} must be [vectors, dimensions]")
    if tensor_path.suffix.lower() == ".bytes" and shape is None:
        raise DatasetError(f"{where}: a .bytes tensor needs its tensorShape [vectors, dimensions]")
    files = replace(
        template,
        vectors=tensor_path,
        metadata=_local(config, where, "metadataPath", entry.get("metadataPath")),
        shape=(shape[0], shape[1]) if tensor_path.suffix.lower() == ".bytes" and shape else None,
    )
    sprite = entry.get("sprite")
    if sprite is not None:
        if not isinstance(sprite, dict):
            raise DatasetError(f"{where}: sprite must be an object with imagePath")
        image = _local(config, where, "sprite.imagePath", sprite.get("imagePath"))
        dim = sprite.get("singleImageDim")
        if image is None or not (
            isinstance(dim, list) and len(dim) == 2 and all(isinstance(v, int) for v in dim)
        ):
            raise DatasetError(
                f"{where}: sprite needs imagePath and singleImageDim [width, height]"
            )
        files = replace(files, sprite=image, sprite_size=(dim[0], dim[1]), image_column=None)
    return ProjectorTensor(name, files)


def _local(config: Path, where: str, key: str, value: Any) -> Path | None:
    """A path of the config, relative to its folder; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DatasetError(f"{where}: {key} must be a path")
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        raise DatasetError(
            f"{where}: {key} {value!r} is a URL; download the file and give its local path"
        )
    return config.parent / value

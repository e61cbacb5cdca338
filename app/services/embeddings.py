"""Write precomputed embeddings into the workspace as an entry the explorer serves.

``import_embeddings`` takes arrays already read and checked (the file readers name the file,
line and column of bad input); it writes the entry and its index in one atomic step, so a
failure anywhere leaves the workspace as it was.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.index.ensure import ensure_index
from app.index.fitting import IndexParams
from app.index.store import LatentIndex
from app.workspace import check_name
from models.atomic import atomic_dir
from models.checkpoint import CheckpointInfo, write_config
from models.embeddings import NO_IMAGES, EmbeddingsSource, write_source
from models.errors import ConfigError
from models.registry import load_checkpoint

log = logging.getLogger(__name__)

_WHOLE = re.compile(r"[+-]?\d{1,18}")
MISSING_LABEL = "(missing)"  # the class of items whose label value is NaN or empty


@dataclass
class EmbeddingsImport:
    """What to import: the vectors and what is known about each item."""

    source: EmbeddingsSource
    label_field: str | None = None  # a text metadata column whose values become the labels
    described_as: dict[str, Any] = field(default_factory=dict)  # where it came from (files)


def labels_from(
    metadata: dict[str, np.ndarray], label_field: str | None
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(N,) int64 label indices and label names from a metadata column, or (None, ()).

    Names are sorted (numbers by value, also whole numbers written as text) and written
    exactly (``label_name``); missing values (NaN, empty or blank text) are one class,
    ``MISSING_LABEL``, last.
    """
    if label_field is None:
        return None, ()
    if label_field not in metadata:
        raise ConfigError(
            f"label column {label_field!r} is not in the metadata: columns are "
            f"{', '.join(metadata) or 'none'}"
        )
    column = metadata[label_field]
    if column.dtype.kind in "fiu":
        values = column
        missing = np.isnan(column) if column.dtype.kind == "f" else np.zeros(len(column), bool)
    else:
        values = column.astype(np.str_)
        # A value written as the missing class's own name joins it rather than doubling it.
        missing = (np.char.strip(values) == "") | (values == MISSING_LABEL)
    present, codes = np.unique(values[~missing], return_inverse=True)
    if present.dtype.kind == "U" and all(_WHOLE.fullmatch(v) for v in present.tolist()):
        # Class ids read as categories ("2", "10"): in number order, not text order.
        order = np.argsort([int(v) for v in present.tolist()], kind="stable")
        present, codes = present[order], np.argsort(order)[codes]
    labels = np.full(len(column), len(present), dtype=np.int64)  # missing: the class after
    labels[~missing] = codes.reshape(-1)
    names = [label_name(v) for v in present.tolist()]
    if missing.any():
        names.append(MISSING_LABEL)
    return labels, tuple(names)


def label_name(value: str | float) -> str:
    """A label value as text: whole numbers exactly (``1000001``, not ``1e+06``), other
    numbers with the digits that read back to them (``0.1``, ``2.5e-07``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def import_embeddings(
    request: EmbeddingsImport,
    workspace: Path,
    name: str,
    params: IndexParams | None = None,
    *,
    overwrite: bool = False,
) -> tuple[Path, LatentIndex]:
    """Write ``workspace/name`` (config.json, source/, index/) at once; returns its index."""
    source = request.source
    source.check()
    folder = workspace / check_name(name)
    if folder.exists() and not overwrite:
        raise ConfigError(f"{folder} already exists: choose another --name or pass --force")
    labels, label_names = labels_from(source.metadata, request.label_field)
    source.labels = labels
    image_shape = tuple(source.images.shape[1:]) if source.images is not None else NO_IMAGES
    params = params or IndexParams()
    with atomic_dir(folder) as tmp:
        sha = write_source(source, tmp)
        info = CheckpointInfo(
            architecture="embeddings",
            args={"image_shape": list(image_shape), "latent_dim": int(source.vectors.shape[1])},
            dataset={
                "spec": "embeddings",
                "n_items": len(source.vectors),
                "label_field": request.label_field,
                "label_names": list(label_names),
                "metadata_fields": list(source.metadata),
                "has_images": source.images is not None,
                **request.described_as,
            },
            weights_sha256=sha,
        )
        write_config(info, tmp)
        # Loaded back as the server will load it, and indexed by the one ensure_index.
        model, loaded_info = load_checkpoint(tmp)
        index, _ = ensure_index(tmp, model, loaded_info, params, force=True)
    log.info("%s: %d embeddings of dimension %d imported", name, *source.vectors.shape)
    return folder, index

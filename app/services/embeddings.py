"""Write precomputed embeddings into the workspace as an entry the explorer serves.

``import_embeddings`` takes arrays already read and checked (the file readers name the file,
line and column of bad input); it writes the entry and its index in one atomic step, so a
failure anywhere leaves the workspace as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.index.build import IndexParams, embeddings_index
from app.index.store import LatentIndex, save_index
from app.workspace import check_name, index_dir
from models.atomic import atomic_dir
from models.checkpoint import CheckpointInfo, write_config
from models.embeddings import NO_IMAGES, EmbeddingsSource, write_source
from models.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class EmbeddingsImport:
    """What to import: the vectors and what is known about each item."""

    source: EmbeddingsSource
    label_field: str | None = None  # a text metadata column whose values become the labels
    described_as: dict[str, Any] = field(default_factory=dict)  # where it came from (files)


def labels_from(
    metadata: dict[str, np.ndarray], label_field: str | None
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(N,) int64 label indices and sorted label names from a metadata column, or (None, ())."""
    if label_field is None:
        return None, ()
    if label_field not in metadata:
        raise ConfigError(
            f"label column {label_field!r} is not in the metadata: columns are "
            f"{', '.join(metadata) or 'none'}"
        )
    column = metadata[label_field]
    text = column if column.dtype.kind in "US" else np.array([f"{v:g}" for v in column])
    names, codes = np.unique(text.astype(np.str_), return_inverse=True)
    return codes.reshape(-1).astype(np.int64), tuple(str(n) for n in names)


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
        index = embeddings_index(tmp, info, params)
        save_index(index, index_dir(tmp))
    log.info("%s: %d embeddings of dimension %d imported", name, *source.vectors.shape)
    return folder, index

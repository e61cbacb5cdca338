"""A dataset kept inside a model folder: the items a model was given in Python
(``latent_explorer.from_torch(...)``, then ``entry.save``), which no dataset name can load
again. Kept so that ``latent-explorer index`` (after an upgrade of the index format, or with
``--force``) can encode them anew.

One file, ``dataset.npz`` (no pickle): ``images`` (N, C, H, W) uint8, ``item_names``,
``labels`` (int64, -1 where none) and ``col_<name>`` per metadata column. config.json's
``dataset`` record says ``"spec": "stored"`` and carries the label field, the label names
and the metadata columns' names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.data.base import ImageSet
from models.data.items import ItemColumns
from models.errors import DatasetError

STORED_SPEC = "stored"
DATASET_FILE = "dataset.npz"


def stored_record(data: ImageSet) -> dict[str, Any]:
    """config.json's ``dataset`` for ``data`` kept as ``DATASET_FILE``."""
    return {
        "spec": STORED_SPEC,
        "file": DATASET_FILE,
        "n_items": len(data),
        "image_size": int(data.images.shape[-1]),
        "channels": int(data.images.shape[1]),
        "label_field": data.items.label_field,
        "label_names": list(data.items.label_names),
        "metadata_fields": list(data.items.metadata),
    }


def write_items(data: ImageSet, path: Path) -> None:
    """Write ``data``'s images and item columns to ``path`` (a .npz)."""
    labels = data.labels if data.labels is not None else np.full(len(data), -1, np.int64)
    columns = {
        f"col_{name}": column.astype(np.str_) if column.dtype == object else column
        for name, column in data.items.metadata.items()
    }
    np.savez(
        path,
        allow_pickle=False,
        images=np.ascontiguousarray(data.images, dtype=np.uint8),
        item_names=data.items.item_names.astype(np.str_),
        labels=np.asarray(labels, dtype=np.int64),
        **columns,
    )


def read_items(folder: Path, record: dict[str, Any]) -> ImageSet:
    """The dataset kept in model ``folder`` as its config's ``record`` describes it."""
    path = folder / str(record.get("file", DATASET_FILE))
    fields = [str(name) for name in record.get("metadata_fields", [])]
    try:
        with np.load(path, allow_pickle=False) as stored:
            images, names, labels = stored["images"], stored["item_names"], stored["labels"]
            metadata = {name: stored[f"col_{name}"] for name in fields}
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(
            f"{path}: the items this model was saved with cannot be read ({exc}); save the "
            "entry again from Python (entry.save(workspace, overwrite=True))"
        ) from None
    items = ItemColumns(
        item_names=names,
        labels=labels if record.get("label_field") is not None else None,
        label_field=record.get("label_field"),
        label_names=tuple(str(n) for n in record.get("label_names", [])),
        metadata=metadata,
        images=images,
    )
    return ImageSet(name=folder.name, items=items)

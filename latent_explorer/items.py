"""What a notebook hands over (tensors, arrays, torchvision datasets, data frames) as the
explorer's item columns (models/data/items.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from app.services.embeddings import labels_from
from models.data.items import ItemColumns
from models.errors import ConfigError

LABEL = "label"  # the metadata column labels given on their own are stored under


def as_numpy(values: Any, what: str) -> np.ndarray:
    """A tensor, array, list, pandas or polars object as a numpy array."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    if hasattr(values, "to_numpy"):  # pandas and polars Series and DataFrames
        return np.asarray(values.to_numpy())
    try:
        return np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: not an array ({exc})") from None


def images_and_labels(images: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, C, H, W) uint8 images, and the labels when ``images`` is a torchvision-style
    dataset of (image, label) pairs."""
    labels = None
    if not isinstance(images, torch.Tensor | np.ndarray) and hasattr(images, "__getitem__"):
        first = images[0]
        if isinstance(first, tuple) and len(first) == 2:  # a dataset of (image, label)
            pairs = [images[i] for i in range(len(images))]
            labels = np.asarray([int(label) for _, label in pairs])
            images = [as_numpy(_pil_or_array(image), "images") for image, _ in pairs]
        images = np.stack([as_numpy(_pil_or_array(image), "images") for image in images])
    array = as_numpy(images, "images")
    if array.ndim == 3:
        array = array[:, None]  # (N, H, W) -> (N, 1, H, W)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ConfigError(
            f"images must be (N, C, H, W) with C 1 or 3, or (N, H, W); got {array.shape}"
        )
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise ConfigError("float images must hold values in [0, 1] (or give uint8 images)")
        array = np.round(array * 255).astype(np.uint8)
    return np.ascontiguousarray(array), labels


def _pil_or_array(image: Any) -> Any:
    """A PIL image as (C, H, W) uint8; anything else as it is."""
    if hasattr(image, "convert") and hasattr(image, "size"):
        pixels = np.asarray(image)
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return image


def metadata_columns(metadata: Any, n: int) -> dict[str, np.ndarray]:
    """A mapping of columns, or a pandas/polars data frame, as float64 or text columns."""
    if metadata is None:
        return {}
    if hasattr(metadata, "columns") and not isinstance(metadata, Mapping):
        metadata = {str(c): metadata[c] for c in metadata.columns}
    if not isinstance(metadata, Mapping):
        raise ConfigError("metadata must be a mapping of columns or a data frame")
    out: dict[str, np.ndarray] = {}
    for key, values in metadata.items():
        column = as_numpy(values, f"metadata column {key!r}")
        if column.shape != (n,):
            raise ConfigError(f"metadata column {key!r}: {column.shape[0]} rows for {n} items")
        out[str(key)] = (
            column.astype(np.float64) if column.dtype.kind in "fiub" else column.astype(np.str_)
        )
    return out


def item_columns(n: int, labels: Any, metadata: Any, images: np.ndarray | None) -> ItemColumns:
    """The items' columns: names ``item-0``..., labels (a column of their own, named
    ``label``), metadata."""
    columns = metadata_columns(metadata, n)
    label_field = None
    if labels is not None:
        values = as_numpy(labels, "labels")
        if values.shape != (n,):
            raise ConfigError(f"labels: {values.shape} for {n} items; one label per item")
        columns[LABEL] = values.astype(np.str_)  # names sort as numbers where they are
        label_field = LABEL
    index, names = labels_from(columns, label_field)
    return ItemColumns(
        item_names=np.asarray([f"item-{i}" for i in range(n)]).astype(np.str_),
        labels=index,
        label_field=label_field,
        label_names=names,
        metadata=columns,
        images=images,
    )

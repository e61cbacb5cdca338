"""The latent index of one model, and how it is written to and read from disk.

Layout of ``<model>/index/`` (all arrays via numpy with ``allow_pickle=False``)::

    manifest.json        cache key, parameters, fields, quality figures, build timings
    items.npz            latents (N, D) f32, errors (N,) f32 (absent without a decoder),
                         labels (N,) i64, item_names (N,) str, knn_scores (N,) f32 (only
                         for a model trained on normal classes: app/index/anomaly.py; the
                         manifest's "anomaly" then says which classes and k)
    images.npy           the dataset images at model size (N, C, H, W) u8 (thumbnails are cut
                         from these on request); absent for embeddings imported without images.
                         Read memory-mapped, so a large collection is not held in memory
    metadata.npz         one (N,) column per metadata field (float64 or unicode)
    projection-<p>.npz   the fitted projection ``<p>`` (a name in app/index/projection.py's
                         PROJECTIONS), its inverse map and the faithfulness of the map per item
                         (N,) f32 (app/index/faithfulness.py; absent for fewer than 11 items)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.index.anomaly import AnomalyScores
from app.index.inverse import InverseMap
from app.index.projection import projection_from_arrays
from app.index.projection_base import Projection
from models.atomic import atomic_dir
from models.data.items import ItemColumns
from models.errors import LatentExplorerError

# 2: metadata columns as col_<name>; 3: errors, images optional; 4: the objective measures.
# The anomaly scores (knn_scores, manifest "anomaly") need no new version: they are optional,
# an index without them reads as a model trained on every class, which every older one is.
INDEX_VERSION = 4
MANIFEST = "manifest.json"


class IndexFolderError(LatentExplorerError):
    """An index folder that is missing, stale or damaged."""


@dataclass
class LatentIndex:
    """Everything the explorer precomputes about one model's latent space."""

    items: ItemColumns  # latents always set; errors None without a decoder, images None
    # for embeddings imported without images
    projections: dict[str, Projection]
    inverses: dict[str, InverseMap]
    quality: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    key: str = ""
    data_sha256: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    # projection -> (N,) float32: share of each item's 10 latent neighbours kept on that map
    faithfulness: dict[str, np.ndarray] = field(default_factory=dict)
    # the kNN anomaly scores of a model trained on normal classes only, else None
    anomaly: AnomalyScores | None = None

    def __post_init__(self) -> None:
        if self.items.latents is None:
            raise IndexFolderError("an index needs the latents of its items")

    def __len__(self) -> int:
        return len(self.latents)

    @property
    def latents(self) -> np.ndarray:
        """(N, D) float32."""
        assert self.items.latents is not None  # checked in __post_init__
        return self.items.latents

    @property
    def errors(self) -> np.ndarray | None:
        return self.items.errors

    @property
    def images(self) -> np.ndarray | None:
        return self.items.images

    @property
    def labels(self) -> np.ndarray | None:
        return self.items.labels

    @property
    def label_field(self) -> str | None:
        return self.items.label_field

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.items.label_names

    @property
    def item_names(self) -> np.ndarray:
        return self.items.item_names

    @property
    def metadata(self) -> dict[str, np.ndarray]:
        return self.items.metadata

    @property
    def latent_dim(self) -> int:
        return int(self.latents.shape[1])

    @property
    def has_images(self) -> bool:
        return self.images is not None

    @property
    def has_errors(self) -> bool:
        return self.errors is not None


def save_index(index: LatentIndex, folder: Path) -> None:
    """Write the index to ``folder`` atomically (temporary sibling, then rename)."""
    with atomic_dir(folder) as tmp:
        labels = index.labels if index.labels is not None else np.full(len(index), -1, np.int64)
        items = {"latents": index.latents, "labels": labels}
        if index.errors is not None:
            items["errors"] = index.errors
        if index.anomaly is not None:
            items["knn_scores"] = index.anomaly.knn.astype(np.float32)
        np.savez(
            tmp / "items.npz",
            allow_pickle=False,
            item_names=index.item_names.astype(np.str_),
            **items,
        )
        if index.images is not None:
            save_images(index.images, tmp / "images.npy")
        # Keys are prefixed: a column may be called "file", which is savez's own argument.
        columns = {f"col_{k}": _plain(v) for k, v in index.metadata.items()}
        np.savez(tmp / "metadata.npz", allow_pickle=False, **columns)
        for name, projection in index.projections.items():
            arrays = {f"proj_{k}": v for k, v in projection.to_arrays().items()}
            arrays |= {f"inv_{k}": v for k, v in index.inverses[name].to_arrays().items()}
            if name in index.faithfulness:
                arrays["faithfulness"] = index.faithfulness[name].astype(np.float32)
            np.savez(tmp / f"projection-{name}.npz", allow_pickle=False, **arrays)
        manifest = {
            "version": INDEX_VERSION,
            "key": index.key,
            "data_sha256": index.data_sha256,
            "params": index.params,
            "n_items": len(index),
            "latent_dim": index.latent_dim,
            "has_labels": index.labels is not None,
            "has_errors": index.errors is not None,
            "has_images": index.images is not None,
            "label_field": index.label_field,
            "label_names": list(index.label_names),
            "metadata_fields": list(index.metadata),
            "projections": list(index.projections),
            "quality": index.quality,
            "timings": index.timings,
            "anomaly": index.anomaly.manifest() if index.anomaly is not None else None,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def save_images(images: np.ndarray, path: Path, chunk: int = 4096) -> None:
    """Write (N, C, H, W) uint8 to ``path`` as .npy in chunks: a memory-mapped source (a
    streamed folder index) is copied without reading it all into memory at once."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=images.shape)
    for first in range(0, len(images), chunk):
        out[first : first + chunk] = images[first : first + chunk]
    out.flush()
    del out


def _plain(column: np.ndarray) -> np.ndarray:
    """Object columns cannot be saved without pickle: make them unicode."""
    return column.astype(np.str_) if column.dtype == object else column


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, or None when there is no readable index in ``folder``."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == INDEX_VERSION else None


def load_index(folder: Path) -> LatentIndex:
    """Read an index written by ``save_index``; nothing is refitted."""
    manifest = read_manifest(folder)
    if manifest is None:
        raise IndexFolderError(f"{folder}: no readable index (run `latent-explorer index`)")
    try:
        with np.load(folder / "items.npz", allow_pickle=False) as items:
            latents = items["latents"]
            errors = items["errors"] if manifest["has_errors"] else None
            labels, item_names = items["labels"], items["item_names"]
            anomaly = manifest.get("anomaly")
            if anomaly:
                anomaly = AnomalyScores(
                    normal_classes=[int(c) for c in anomaly["normal_classes"]],
                    k=int(anomaly["k"]),
                    knn=items["knn_scores"],
                )
        images = (
            np.load(folder / "images.npy", mmap_mode="r", allow_pickle=False)
            if manifest["has_images"]
            else None
        )
        with np.load(folder / "metadata.npz", allow_pickle=False) as meta:
            metadata = {k: meta[f"col_{k}"] for k in manifest["metadata_fields"]}
        projections: dict[str, Projection] = {}
        inverses: dict[str, InverseMap] = {}
        faithfulness: dict[str, np.ndarray] = {}
        for name in manifest["projections"]:
            with np.load(folder / f"projection-{name}.npz", allow_pickle=False) as data:
                proj = {k[5:]: data[k] for k in data.files if k.startswith("proj_")}
                inv = {k[4:]: data[k] for k in data.files if k.startswith("inv_")}
                if "faithfulness" in data.files:
                    faithfulness[name] = data["faithfulness"]
            projections[name] = projection_from_arrays(name, proj, latents)
            inverses[name] = InverseMap.from_arrays(inv)
    except (OSError, KeyError, ValueError) as exc:
        raise IndexFolderError(f"{folder}: damaged index ({exc}); rebuild with --force") from None
    items = ItemColumns(
        item_names=item_names,
        labels=labels if manifest["has_labels"] else None,
        label_field=manifest["label_field"],
        label_names=tuple(manifest["label_names"]),
        metadata=metadata,
        images=images,
        latents=latents,
        errors=errors,
    )
    return LatentIndex(
        items=items,
        projections=projections,
        inverses=inverses,
        quality=manifest["quality"],
        timings=manifest["timings"],
        key=manifest["key"],
        data_sha256=manifest["data_sha256"],
        params=manifest["params"],
        faithfulness=faithfulness,
        anomaly=anomaly or None,
    )

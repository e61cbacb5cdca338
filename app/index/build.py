"""Build (or reuse) the latent index of a model: encode, project, invert, measure.

The index is cached in ``<model>/index/`` under a key made from the weights' hash, the dataset
spec and the index parameters; a matching cache is read, never refitted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.faithfulness import K as FAITHFULNESS_K
from app.index.faithfulness import item_faithfulness, mean_faithfulness
from app.index.inverse import InverseMap
from app.index.projection import Projection, make_projection
from app.index.quality import knn_accuracy, knn_r2, trustworthiness
from app.index.store import INDEX_VERSION, LatentIndex, load_index, read_manifest, save_index
from app.workspace import index_dir
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.data.base import ImageSet
from models.training import encode_all

log = logging.getLogger(__name__)

PROJECTIONS = ("pca", "umap")
QUALITY_MAX_POINTS = 5000  # trustworthiness subsample (the cap)
KNN_MAX_POINTS = 20000  # kNN accuracy / R^2 subsample: 5-fold CV stays seconds, not minutes


@dataclass
class IndexParams:
    projections: tuple[str, ...] = PROJECTIONS
    umap_neighbors: int = 15  # umap-learn's default: local structure without fragmenting
    umap_min_dist: float = 0.1  # umap-learn's default
    # UMAP is fitted on a seeded sample of this many latents and the rest are placed like
    # uploads: a 100k fit takes minutes on 2 cores, a 1M fit far longer (README, "Scale").
    umap_max_fit: int = 100_000
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "projections": list(self.projections),
            "umap_neighbors": self.umap_neighbors,
            "umap_min_dist": self.umap_min_dist,
            "umap_max_fit": self.umap_max_fit,
            "seed": self.seed,
            "version": INDEX_VERSION,
        } | self.extra


def cache_key(info: CheckpointInfo, params: IndexParams) -> str:
    """Hash of what the index depends on: weights, dataset spec and index parameters."""
    blob = json.dumps(
        {"weights": info.weights_sha256, "dataset": info.dataset, "params": params.to_dict()},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def data_hash(data: ImageSet) -> str:
    """SHA-256 of what an index is made from: images, labels and metadata, in item order."""
    return content_sha256(data.images, data.labels, data.metadata)


def content_sha256(
    images: np.ndarray,
    labels: np.ndarray | None,
    metadata: dict[str, np.ndarray],
    chunk: int = 4096,
) -> str:
    """``data_hash`` of the parts: images are hashed in chunks, so a memory-mapped array (a
    streamed folder, app/index/stream.py) is not read into memory whole. Metadata counts too,
    so an edited metadata.csv makes `latent-explorer index` rebuild."""
    digest = hashlib.sha256()
    for first in range(0, len(images), chunk):
        # Hashed through the buffer: a contiguous chunk (a memory map's) is not copied.
        digest.update(np.ascontiguousarray(images[first : first + chunk]).data)
    if labels is not None:
        digest.update(labels.tobytes())
    for key in sorted(metadata):
        column = metadata[key]
        digest.update(f"\0{key}\0{column.dtype.str}\0".encode())
        digest.update(np.ascontiguousarray(column).tobytes())
    return digest.hexdigest()


def cached_index(folder: Path, info: CheckpointInfo, params: IndexParams) -> LatentIndex | None:
    """The cached index of the model in ``folder`` if its key matches, else None."""
    manifest = read_manifest(index_dir(folder))
    if manifest is None or manifest.get("key") != cache_key(info, params):
        return None
    return load_index(index_dir(folder))


def build_index(
    model: LatentModel,
    info: CheckpointInfo,
    data: ImageSet,
    params: IndexParams,
    device: torch.device | str = "cpu",
) -> LatentIndex:
    """Encode every item, fit the projections and their inverse maps, measure quality."""
    t0 = time.perf_counter()
    latents, errors = encode_all(model, data.images, device)
    encode_seconds = time.perf_counter() - t0
    return index_latents(
        IndexInput.of(data, latents, errors),
        params,
        key=cache_key(info, params),
        data_sha256=data_hash(data),
        timings={"encode": encode_seconds},
    )


@dataclass
class IndexInput:
    """What an index is built from: latents plus whatever is known about each item.

    A model's index gets them by encoding its dataset; imported embeddings bring them as they
    are (no reconstruction errors, and images only when the import names some).
    """

    latents: np.ndarray  # (N, D) float32
    errors: np.ndarray | None  # (N,) float32 reconstruction MSE; None without a decoder
    images: np.ndarray | None  # (N, C, H, W) uint8; None without images
    labels: np.ndarray | None  # (N,) int64 indices into label_names
    label_field: str | None
    label_names: tuple[str, ...]
    item_names: np.ndarray  # (N,) unicode
    metadata: dict[str, np.ndarray]

    @classmethod
    def of(cls, data: ImageSet, latents: np.ndarray, errors: np.ndarray | None) -> IndexInput:
        """A dataset's items with the latents (and errors) its model gave them."""
        return cls(
            latents=latents,
            errors=errors,
            images=data.images,
            labels=data.labels,
            label_field=data.label_field,
            label_names=data.label_names,
            item_names=data.item_names,
            metadata=dict(data.metadata),
        )


def index_latents(
    data: IndexInput,
    params: IndexParams,
    *,
    key: str,
    data_sha256: str,
    timings: dict[str, float] | None = None,
) -> LatentIndex:
    """Fit the projections and their inverse maps on ``data.latents``, measure quality and
    each map's faithfulness per item (app/index/faithfulness.py)."""
    timings = dict(timings or {})
    latents = data.latents
    projections: dict[str, Projection] = {}
    inverses: dict[str, InverseMap] = {}
    for name in params.projections:
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {"seed": params.seed}
        if name == "umap":
            kwargs |= {
                "n_neighbors": params.umap_neighbors,
                "min_dist": params.umap_min_dist,
                "max_fit": params.umap_max_fit,
            }
        projections[name] = make_projection(name, **kwargs).fit(latents)
        timings[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        inverses[name] = InverseMap().fit(projections[name].embedding_, latents)
        timings[f"{name}_inverse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    quality = measure_quality(data, projections, params.seed)
    timings["quality"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    faithfulness: dict[str, np.ndarray] = {}
    if len(latents) > FAITHFULNESS_K:  # fewer items: every item is every other's neighbour
        embeddings = {name: p.embedding_ for name, p in projections.items()}
        faithfulness = item_faithfulness(latents, embeddings, FAITHFULNESS_K)
        quality["faithfulness"] = mean_faithfulness(faithfulness)
    timings["faithfulness"] = time.perf_counter() - t0
    log.info("index built: %s", {k: round(v, 2) for k, v in timings.items()})
    return LatentIndex(
        latents=latents,
        errors=data.errors,
        images=data.images,
        labels=data.labels,
        label_field=data.label_field,
        label_names=data.label_names,
        item_names=data.item_names,
        metadata=dict(data.metadata),
        projections=projections,
        inverses=inverses,
        quality=quality,
        timings=timings,
        key=key,
        data_sha256=data_sha256,
        params=params.to_dict(),
        faithfulness=faithfulness,
    )


def measure_quality(
    data: IndexInput, projections: dict[str, Projection], seed: int
) -> dict[str, Any]:
    """Reconstruction error, kNN accuracy (latents and raw pixels), factor R^2, trustworthiness.

    Figures that need what the data lacks (a decoder, images, labels) are left out.
    """
    latents = data.latents
    n = len(latents)
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.choice(n, KNN_MAX_POINTS, replace=False)) if n > KNN_MAX_POINTS else None
    pick = (lambda a: a[sub]) if sub is not None else (lambda a: a)
    quality: dict[str, Any] = {"n_items": n}
    if data.errors is not None:
        quality["reconstruction_mse"] = float(data.errors.mean())
        quality["reconstruction_mse_p95"] = float(np.percentile(data.errors, 95))
    labels = pick(data.labels) if data.labels is not None else None
    if labels is not None and _has_folds(labels, 5):
        quality["knn_accuracy"] = knn_accuracy(pick(latents), labels, k=5, folds=5, seed=seed)
        if data.images is not None:
            pixels = np.asarray(pick(data.images)).reshape(len(labels), -1)
            quality["knn_accuracy_pixels"] = knn_accuracy(
                pixels.astype(np.float32) / 255.0, labels, k=5, folds=5, seed=seed
            )
    factor_r2 = {}
    for key, column in data.metadata.items():
        if column.dtype.kind == "f" and np.isfinite(column).all() and column.std() > 0:
            factor_r2[key] = knn_r2(pick(latents), pick(column), k=10, folds=5, seed=seed)
    if factor_r2:
        quality["factor_r2"] = factor_r2
    quality["trustworthiness"] = {
        name: trustworthiness(
            latents, p.embedding_, n_neighbors=10, max_points=QUALITY_MAX_POINTS, seed=seed
        )
        for name, p in projections.items()
    }
    return quality


def _has_folds(labels: np.ndarray, folds: int) -> bool:
    """Whether stratified ``folds``-fold kNN accuracy is defined: two classes, one of them at
    least ``folds`` items (labels such as item names, one item a class, have none)."""
    counts = np.unique(labels, return_counts=True)[1]
    return bool(counts.size > 1 and counts.max() >= folds)


def ensure_index(
    folder: Path,
    model: LatentModel,
    info: CheckpointInfo,
    params: IndexParams,
    device: torch.device | str = "cpu",
    *,
    data: ImageSet | None = None,
    force: bool = False,
    progress: bool = False,
) -> tuple[LatentIndex, bool]:
    """The model's index, from the cache when it matches; returns (index, built_now).

    A model trained on ``folder:PATH`` with no ``data`` given is indexed by streaming the
    folder in batches (app/index/stream.py), never holding its images in memory; ``progress``
    shows a bar while it decodes and encodes.
    """
    if not force:
        cached = cached_index(folder, info, params)
        if cached is not None:
            return cached, False
    if model.stored_latents:
        index = embeddings_index(folder, info, params)
    elif data is None and streams_folder(info):
        from app.index.stream import refresh_folder_index  # it imports this module

        return refresh_folder_index(
            folder, model, info, params, device, force=True, progress=progress
        )
    else:
        if data is None:
            data = dataset_for(info)
        index = build_index(model, info, data, params, device)
    save_index(index, index_dir(folder))
    return index, True


def embeddings_index(folder: Path, info: CheckpointInfo, params: IndexParams) -> LatentIndex:
    """The index of imported embeddings, built from the vectors stored with them."""
    from models.embeddings import read_source

    source = read_source(folder, info)
    return index_latents(
        IndexInput(
            latents=source.vectors,
            errors=None,
            images=source.images,
            labels=source.labels,
            label_field=info.dataset.get("label_field"),
            label_names=tuple(info.dataset.get("label_names", ())),
            item_names=source.item_names,
            metadata=source.metadata,
        ),
        params,
        key=cache_key(info, params),
        data_sha256=info.weights_sha256,
    )


def streams_folder(info: CheckpointInfo) -> bool:
    """Whether the model's dataset is a folder of images, indexed by streaming it."""
    spec = str(info.dataset.get("spec", ""))
    return spec.strip().lower().startswith("folder:")


@dataclass
class DatasetChoice:
    """The dataset a model is trained or imported on (``train``'s flags): loads it, and
    writes the config.json ``dataset`` record that ``dataset_for`` reads back."""

    spec: str
    image_size: int = 32
    channels: int | None = None
    size: int | None = None
    seed: int = 0
    data_dir: Path | None = None
    colour: bool = False
    download: bool = False  # mnist/fashion-mnist: fetch missing files (not recorded)

    def load(self) -> ImageSet:
        from models.data import load_dataset  # the loaders' libraries: only when loading

        return load_dataset(
            self.spec,
            image_size=self.image_size,
            channels=self.channels,
            size=self.size,
            seed=self.seed,
            data_dir=self.data_dir,
            download=self.download,
            colour=self.colour,
        )

    def record(self, data: ImageSet) -> dict[str, Any]:
        """config.json's ``dataset``: what ``dataset_for`` needs to load it again."""
        return {
            "spec": self.spec,
            "image_size": self.image_size,
            "channels": data.image_shape[0],
            "size": self.size,
            "seed": self.seed,
            "colour": self.colour,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "n_items": len(data),
            "skipped": data.skipped,
        }


def dataset_for(info: CheckpointInfo) -> ImageSet:
    """Reload the dataset a checkpoint was trained on, as its config records it."""
    spec = dict(info.dataset)
    data_dir = spec.get("data_dir")
    return DatasetChoice(
        spec=spec["spec"],
        image_size=int(spec["image_size"]),
        channels=spec.get("channels"),
        size=spec.get("size"),
        seed=int(spec.get("seed", 0)),
        data_dir=Path(data_dir) if data_dir else None,
        colour=bool(spec.get("colour", False)),
    ).load()

"""The pure pieces of an index build, shared by the in-memory and the streamed builds.

From the item columns with their latents (``ItemColumns``) to a ``LatentIndex``: the
parameters (``IndexParams``), the cache key, the data hash, the fitting of every projection and
its inverse map, and the quality figures. Nothing here encodes images or reads a dataset:
app/index/build.py (a dataset in memory), app/index/stream.py (a folder in batches) and
app/index/ensure.py (is the cached index fresh?) do that and call in here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.index.anomaly import anomaly_scores
from app.index.faithfulness import K as FAITHFULNESS_K
from app.index.faithfulness import item_faithfulness, mean_faithfulness
from app.index.inverse import InverseMap
from app.index.objective_quality import objective_quality
from app.index.projection import PROJECTIONS, make_projection
from app.index.projection_base import Projection
from app.index.quality import knn_accuracy, knn_r2, trustworthiness
from app.index.store import INDEX_VERSION, LatentIndex, load_index, read_manifest
from app.workspace import index_dir
from models.checkpoint import CheckpointInfo
from models.data.base import ImageSet
from models.data.items import ItemColumns
from models.errors import ConfigError

log = logging.getLogger(__name__)

QUALITY_MAX_POINTS = 5000  # trustworthiness subsample (the cap)
KNN_MAX_POINTS = 20000  # kNN accuracy / R^2 subsample: 5-fold CV stays seconds, not minutes


def _every_projection() -> tuple[str, ...]:
    return tuple(PROJECTIONS)


@dataclass
class IndexParams:
    """What an index is fitted with, beyond the latents.

    projections:       the maps to fit, names from the registry (app/index/projection.py)
    projection_params: per projection, parameters that override its ``index_params`` (the
                       defaults an index build uses, declared by each projection class)
    seed:              seeds every projection's fit and the quality figures' subsamples
    """

    projections: tuple[str, ...] = field(default_factory=_every_projection)
    projection_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def params_for(self, name: str) -> dict[str, Any]:
        """The keyword arguments projection ``name`` is built with: its index defaults, this
        index's overrides and the seed."""
        cls = PROJECTIONS.get(name)
        if cls is None:
            raise ConfigError(f"projection must be one of {', '.join(PROJECTIONS)}; got {name!r}")
        return (
            dict(cls.index_params)
            | dict(self.projection_params.get(name, {}))
            | {"seed": self.seed}
        )

    def to_dict(self) -> dict[str, Any]:
        """The parameters as the manifest records them (and the cache key hashes them)."""
        return {
            "projections": list(self.projections),
            "projection_params": {name: self.params_for(name) for name in self.projections},
            "seed": self.seed,
            "version": INDEX_VERSION,
        } | self.extra


def cache_key(info: CheckpointInfo, params: IndexParams) -> str:
    """Hash of what the index depends on: weights, dataset spec and index parameters, and a
    fitted decoder's weights when the model has one (its reconstruction errors)."""
    parts: dict[str, Any] = {
        "weights": info.weights_sha256,
        "dataset": info.dataset,
        "params": params.to_dict(),
    }
    if info.fitted_decoder:  # only then: the keys of models without one stay as they were
        parts["fitted_decoder"] = info.fitted_decoder.get("sha256")
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def data_hash(data: ImageSet) -> str:
    """SHA-256 of what an index is made from: images, labels and metadata, in item order."""
    return content_sha256(data.images, data.labels, data.metadata)


def content_sha256(
    images: np.ndarray,
    labels: np.ndarray | None,
    metadata: Mapping[str, np.ndarray],
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


def has_fresh_key(folder: Path, info: CheckpointInfo, params: IndexParams) -> bool:
    """Whether the model in ``folder`` has a saved index made with this cache key (the
    manifest alone is read)."""
    manifest = read_manifest(index_dir(folder))
    return manifest is not None and manifest.get("key") == cache_key(info, params)


def cached_index(folder: Path, info: CheckpointInfo, params: IndexParams) -> LatentIndex | None:
    """The cached index of the model in ``folder`` if its key matches, else None."""
    if not has_fresh_key(folder, info, params):
        return None
    return load_index(index_dir(folder))


def index_latents(
    items: ItemColumns,
    params: IndexParams,
    *,
    key: str,
    data_sha256: str,
    timings: dict[str, float] | None = None,
    holdout_ids: Sequence[int] | None = None,
    model_quality: Mapping[str, Any] | None = None,
    normal_classes: Sequence[int] | None = None,
) -> LatentIndex:
    """Fit the projections and their inverse maps on ``items.latents``, measure quality and
    each map's faithfulness per item (app/index/faithfulness.py).

    holdout_ids:   the items the model never trained on (its config's
                   ``training.holdout_ids``), for the held-out read-outs; None for models
                   with no recorded split (app/index/objective_quality.py)
    model_quality: figures the caller measured with the model (app/index/model_measures.py),
                   stored with the others
    normal_classes: the label codes a model trained on normal classes only (its config's
                   ``training.config.normal_classes``): every item gets a kNN anomaly score
                   (app/index/anomaly.py); None for every other model
    """
    latents = items.latents
    if latents is None:
        raise ConfigError("an index is fitted on latents: encode the items first")
    timings = dict(timings or {})
    projections: dict[str, Projection] = {}
    inverses: dict[str, InverseMap] = {}
    for name in params.projections:
        t0 = time.perf_counter()
        projections[name] = make_projection(name, **params.params_for(name)).fit(latents)
        timings[name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        inverses[name] = InverseMap().fit(projections[name].embedding_, latents)
        timings[f"{name}_inverse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    quality = measure_quality(items, latents, projections, params.seed)
    timings["quality"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    quality |= objective_quality(items, latents, holdout_ids, params.seed)
    quality |= dict(model_quality or {})
    timings["objective_quality"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    faithfulness: dict[str, np.ndarray] = {}
    if len(latents) > FAITHFULNESS_K:  # fewer items: every item is every other's neighbour
        embeddings = {name: p.embedding_ for name, p in projections.items()}
        faithfulness = item_faithfulness(latents, embeddings, FAITHFULNESS_K)
        quality["faithfulness"] = mean_faithfulness(faithfulness)
    timings["faithfulness"] = time.perf_counter() - t0
    anomaly = anomaly_scores(latents, items.labels, normal_classes, holdout_ids)
    log.info("index built: %s", {k: round(v, 2) for k, v in timings.items()})
    return LatentIndex(
        items=items,
        projections=projections,
        inverses=inverses,
        quality=quality,
        timings=timings,
        key=key,
        data_sha256=data_sha256,
        params=params.to_dict(),
        faithfulness=faithfulness,
        anomaly=anomaly,
    )


def measure_quality(
    items: ItemColumns, latents: np.ndarray, projections: dict[str, Projection], seed: int
) -> dict[str, Any]:
    """Reconstruction error, kNN accuracy (latents and raw pixels), factor R^2, trustworthiness.

    Figures that need what the items lack (a decoder, images, labels) are left out.
    """
    n = len(latents)
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.choice(n, KNN_MAX_POINTS, replace=False)) if n > KNN_MAX_POINTS else None
    pick = (lambda a: a[sub]) if sub is not None else (lambda a: a)
    quality: dict[str, Any] = {"n_items": n}
    if items.errors is not None:
        quality["reconstruction_mse"] = float(items.errors.mean())
        quality["reconstruction_mse_p95"] = float(np.percentile(items.errors, 95))
    labels = pick(items.labels) if items.labels is not None else None
    if labels is not None and _has_folds(labels, 5):
        quality["knn_accuracy"] = knn_accuracy(pick(latents), labels, k=5, folds=5, seed=seed)
        if items.images is not None:
            pixels = np.asarray(pick(items.images)).reshape(len(labels), -1)
            quality["knn_accuracy_pixels"] = knn_accuracy(
                pixels.astype(np.float32) / 255.0, labels, k=5, folds=5, seed=seed
            )
    factor_r2 = {}
    for key, column in items.metadata.items():
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

"""Models loaded for serving: checkpoint + index + neighbour search, on the chosen device."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.ann import ApproxNeighborIndex, make_neighbor_index
from app.index.anomaly import reference_ids
from app.index.build import recorded_holdout
from app.index.data_distance import DataDistance
from app.index.ensure import ensure_index
from app.index.fitting import IndexParams, has_fresh_key
from app.index.neighbors import NeighborIndex, NeighborSearch
from app.index.projection import DEFAULT_PROJECTION
from app.index.store import LatentIndex
from app.services import points
from app.services.attributes import Attribute, derive_attributes
from app.services.search import Searchable
from app.workspace import NAME_PATTERN, list_models
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.device import onednn
from models.errors import LatentExplorerError, NotFoundError
from models.registry import load_checkpoint

log = logging.getLogger(__name__)
# Items measured for the distance from the data (DataDistance.max_items): each costs a scan
# of every item. At 70,000 items (D = 8, 2 quiet cores) all of them take 18 s at load, a
# 10,000 sample 3.9 s; its percentiles are within ~0.5 points of all the items'.
DATA_DISTANCE_ITEMS = 10_000


@dataclass
class LoadedModel:
    """A model ready to serve, and the one home of its state: the index, the neighbour
    searches and every cache its requests share (attribute vectors, serialised points and
    names, sorted errors, the latents' spread), each computed on first use and kept.

    ``encode``/``decode`` are synchronous: call them from the inference worker, never from the
    event loop."""

    name: str
    folder: Path
    model: LatentModel
    info: CheckpointInfo
    index: LatentIndex
    device: torch.device
    ann_min_items: int | None = None  # approximate neighbours from this many items on
    # oneDNN per call (bench: throughput, 32x32 on 2 cores): its set-up makes small batches
    # 1.5-2.5x slower, while encoding 8 or more images at once runs 1.4-13x faster with it;
    # decoding is no faster with it up to batch 64 (1.2x at 256), so it stays off there.
    encode_onednn_min_batch: int = 8
    decode_onednn: bool = False
    neighbor_searches: dict[str, NeighborSearch] = field(default_factory=dict, init=False)
    custom_attributes: list[Attribute] = field(default_factory=list, init=False)
    derived_attributes: list[Attribute] | None = field(default=None, init=False)
    _points_json: dict[str, bytes] = field(default_factory=dict, init=False)
    _points_binary: dict[str, bytes] = field(default_factory=dict, init=False)
    _names_json: bytes | None = field(default=None, init=False)
    _draw_order: np.ndarray | None = field(default=None, init=False)  # (N,) uint32
    _sorted_errors: np.ndarray | None = field(default=None, init=False)  # (N,)
    _latent_std: np.ndarray | None = field(default=None, init=False)  # (D,) float64
    _data_distance: DataDistance | None = field(default=None, init=False)
    _map_distances: dict[str, DataDistance | None] = field(default_factory=dict, init=False)
    # app/services/topology.py's computation, shared by concurrent first requests then kept
    topology: asyncio.Future[Any] | None = field(default=None, init=False)
    # app/services/selection.py's whole-set figures (bins, quantiles, label totals), by key
    selection_cache: dict[str, Any] = field(default_factory=dict, init=False)
    # app/services/anomaly.py: the serialised answer per score (every item's score: MBs at
    # a million items), and the normal training latents' search, for uploads' kNN scores
    anomaly_answers: dict[str, bytes] = field(default_factory=dict, init=False)
    _normal_search: NeighborSearch | None = field(default=None, init=False)
    # app/services/search.py: the columns a query reads, lower-cased where text
    _searchable: Searchable | None = field(default=None, init=False)
    # app/services/compare_change.py: each item's latent neighbours, and the share of them
    # that differ in each other model (by its name), computed on first request then kept
    _latent_knn: np.ndarray | None = field(default=None, init=False)  # (N, k) int64
    _latent_knn_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    neighbourhood_changes: dict[str, np.ndarray] = field(default_factory=dict, init=False)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.model.image_shape

    @property
    def can_encode(self) -> bool:
        return self.model.can_encode

    @property
    def can_decode(self) -> bool:
        return self.model.can_decode

    @property
    def decoder_source(self) -> str:
        """``own``, ``fitted`` (models/fitted_decoder.py) or ``none``."""
        return self.model.decoder_source

    @property
    def decoded_source(self) -> str:
        """The ``image_source`` of this model's decoded images: ``fitted_decoder`` when its
        decoder was fitted afterwards, else ``decoded``."""
        return "fitted_decoder" if self.decoder_source == "fitted" else "decoded"

    @property
    def has_images(self) -> bool:
        return self.index.images is not None

    @property
    def background(self) -> float:
        return float(self.info.normalisation.get("background", 0.0))

    @property
    def default_projection(self) -> str:
        names = list(self.index.projections)
        return DEFAULT_PROJECTION if DEFAULT_PROJECTION in names else names[0]

    # ---- caches: computed on first use, then shared by every request ---------------------
    def neighbor_index(self, metric: str) -> NeighborSearch:
        """Built once per metric and reused: exact, or approximate from ``ann_min_items`` on."""
        if metric not in self.neighbor_searches:
            search = make_neighbor_index(
                self.index.latents, metric, ann_min_items=self.ann_min_items
            )
            if isinstance(search, ApproxNeighborIndex):
                log.info(
                    "%s: approximate %s neighbours over %d items: nprobe %d of %d cells, "
                    "recall@10 %.3f on sample items, built in %.1fs",
                    self.name,
                    metric,
                    search.n_items,
                    search.nprobe_,
                    search.n_cells_,
                    search.recall_,
                    search.build_seconds_,
                )
            self.neighbor_searches[metric] = search
        return self.neighbor_searches[metric]

    def data_distance(self) -> DataDistance | None:
        """How far from the data a latent is (app/index/data_distance.py), fitted on the
        euclidean search over the items: at load (``warm_up``, on the inference thread before
        any request), else here on first use. None for a model of a single item."""
        if self._data_distance is None and len(self.index) >= 2:
            start = time.perf_counter()
            self._data_distance = DataDistance(max_items=DATA_DISTANCE_ITEMS).fit(
                self.neighbor_index("euclidean"), self.index.latents
            )
            log.info(
                "%s: distance from the data fitted in %.2fs", self.name, time.perf_counter() - start
            )
        return self._data_distance

    def map_distance(self, projection: str) -> DataDistance | None:
        """How far a point of a (checked) projection is from the items' positions on it,
        ranked among the positions' own nearest-position distances (a seeded 10,000 at
        most: milliseconds); None for a map of one position."""
        if projection not in self._map_distances:
            own = self.index.inverses[projection].own_point_distances(DATA_DISTANCE_ITEMS)
            fitted = DataDistance().fit_distances(own) if own.size else None
            self._map_distances[projection] = fitted
        return self._map_distances[projection]

    def normal_search(self) -> NeighborSearch | None:
        """The search over the normal training latents of a model trained on normal classes
        only (the reference of its kNN anomaly score: app/index/anomaly.py), built on first
        use; None for a model of every class."""
        anomaly = self.index.anomaly
        if anomaly is None or self.index.labels is None:
            return None
        if self._normal_search is None:
            holdout = recorded_holdout(self.info)
            reference = reference_ids(self.index.labels, anomaly.normal_classes, holdout)
            self._normal_search = NeighborIndex(self.index.latents[reference])
        return self._normal_search

    def searchable(self) -> Searchable:
        """The items' fields prepared for GET .../search, once (0.2 s a million names)."""
        if self._searchable is None:
            self._searchable = Searchable.of(self.index)
        return self._searchable

    def attributes(self) -> list[Attribute]:
        """The attribute vectors derived from the metadata, then the ones users defined."""
        if self.derived_attributes is None:
            self.derived_attributes = derive_attributes(self.index)
        return self.derived_attributes + self.custom_attributes

    def latent_std(self) -> np.ndarray:
        """(D,) float64: the spread of every latent dimension over the dataset."""
        if self._latent_std is None:
            self._latent_std = self.index.latents.std(0).astype(np.float64)
        return self._latent_std

    def latent_knn(self, k: int) -> np.ndarray:
        """(N, k) int64: every item's ``k`` nearest other items in latent space (euclidean),
        from the model's own neighbour search; computed once (seconds at 70,000 items), by one
        thread while concurrent callers wait for it. Synchronous: call it off the event loop."""
        with self._latent_knn_lock:
            if self._latent_knn is None or self._latent_knn.shape[1] != k:
                latents = self.index.latents
                search = self.neighbor_index("euclidean")
                ids, _ = search.query(latents, k, exclude=np.arange(len(latents)))
                self._latent_knn = ids
            return self._latent_knn

    def sorted_errors(self) -> np.ndarray | None:
        """The items' reconstruction errors, ascending; None without a decoder."""
        if self._sorted_errors is None and self.index.errors is not None:
            self._sorted_errors = np.sort(self.index.errors)
        return self._sorted_errors

    def points_json(self, projection: str) -> bytes:
        """All points of a (checked) projection as columnar JSON, serialised once."""
        if projection not in self._points_json:
            body = points.points_json(self.index, self.name, projection)
            self._points_json[projection] = body
        return self._points_json[projection]

    def points_binary(self, projection: str) -> bytes:
        """All points of a (checked) projection in the binary form, serialised once."""
        if projection not in self._points_binary:
            if self._draw_order is None:
                self._draw_order = points.draw_order(len(self.index))
            body = points.points_binary(self.index, self.name, projection, self._draw_order)
            self._points_binary[projection] = body
        return self._points_binary[projection]

    def names_json(self) -> bytes:
        """Every item's name, in id order, as ``{"count": N, "names": [...]}``."""
        if self._names_json is None:
            names = self.index.item_names.tolist()
            body = {"count": len(names), "names": names}
            self._names_json = json.dumps(body, separators=(",", ":")).encode()
        return self._names_json

    # ---- inference: on the inference worker ---------------------------------------------
    @torch.inference_mode()
    def encode(self, images: np.ndarray) -> np.ndarray:
        """(B, C, H, W) float32 in [0, 1] -> (B, D) float32."""
        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device)
        with onednn(len(x) >= self.encode_onednn_min_batch):
            return self.model.encode(x).float().cpu().numpy()

    @torch.inference_mode()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        """(B, D) float32 -> (B, C, H, W) float32 in [0, 1]."""
        z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(self.device)
        with onednn(self.decode_onednn):
            return self.model.decode(z).float().cpu().numpy()

    def warm_up(self) -> None:
        """Run each path once so the first user request does not pay for lazy set-up."""
        if self.can_encode:
            self.encode(np.zeros((2, *self.image_shape), np.float32))
        if self.can_decode:
            self.decode(self.index.latents[:2])
        for inverse in self.index.inverses.values():
            inverse.transform(np.zeros((1, 2), np.float32))
        self.neighbor_index("euclidean").query(self.index.latents[:1], 1)
        self.data_distance()
        for projection in self.index.inverses:
            self.map_distance(projection)


class ModelStore:
    """The models this server serves, by name, plus the ones that failed to load and why."""

    def __init__(self, models: dict[str, LoadedModel], failed: dict[str, str]) -> None:
        self.models = models
        self.failed = failed

    def get(self, name: str) -> LoadedModel:
        try:
            return self.models[name]
        except KeyError:
            shown = name if len(name) <= 80 else name[:77] + "..."
            allowed = ", ".join(self.models) or "none loaded"
            raise NotFoundError(
                f"no model named {shown!r}: available models are {allowed}", code="unknown_model"
            ) from None

    @classmethod
    def load(
        cls,
        workspace: Path,
        device: torch.device,
        names: tuple[str, ...] = (),
        build_missing_index: bool = True,
        ann_min_items: int | None = None,
        trust_code: bool = False,
    ) -> ModelStore:
        """Load every model folder (or ``names``); a broken one is reported, not fatal.
        ``trust_code``: also load models whose config.json names Python code to import."""
        models: dict[str, LoadedModel] = {}
        failed: dict[str, str] = {}
        for name in names or tuple(list_models(workspace)):
            start = time.perf_counter()
            try:
                if not NAME_PATTERN.match(name):
                    raise NotFoundError(f"invalid model name {name!r}")
                folder = workspace / name
                model, info = load_checkpoint(folder, device, trust_code=trust_code)
                params = IndexParams()
                if not has_fresh_key(folder, info, params):
                    if not build_missing_index:
                        raise NotFoundError(f"{folder}: no index; run `latent-explorer index`")
                    log.info("%s: building its index (first start)", name)
                index, _ = ensure_index(folder, model, info, params, device)
                loaded = LoadedModel(name, folder, model, info, index, device, ann_min_items)
                loaded.warm_up()
            except LatentExplorerError as exc:
                log.error("model %s not loaded: %s", name, exc)
                failed[name] = str(exc)
                continue
            models[name] = loaded
            log.info("model %s loaded in %.2fs on %s", name, time.perf_counter() - start, device)
        return cls(models, failed)

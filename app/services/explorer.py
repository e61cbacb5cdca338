"""The latent operations the API serves, independent of HTTP.

``Explorer`` holds the loaded models and the inference worker. Every method validates its
input (raising ``ServiceError`` subclasses with a readable message), runs model calls on the
worker, and returns plain dataclasses and numpy arrays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from app.index.neighbors import NeighborIndex
from app.index.projection import DEFAULT_PROJECTION
from app.services import points
from app.services.attributes import Attribute, custom_attribute, derive_attributes
from app.services.errors import InvalidInputError, NotFoundError, UnsupportedError
from app.services.images import load_upload, png_bytes
from app.services.inference import InferenceWorker
from app.services.latent_math import Method, analogy, combine, interpolate
from app.services.loaded import LoadedModel, ModelStore
from app.services.nearest import (
    Nearest,
    NearestFrame,
    nearest_frame,
    nearest_items,
    require_decoder,
    require_encoder,
    require_images,
)
from app.services.results import Encoded, Neighbours, Path_, Placed, Ref

LATENT_LIMIT = 1e6  # larger components are almost surely a mistake, and overflow decoders
MAX_K = 1000


@dataclass
class ModelState:
    """Per-model things computed on first use and reused."""

    attributes: list[Attribute] | None = None
    custom: list[Attribute] = field(default_factory=list)
    points_json: dict[str, bytes] = field(default_factory=dict)
    points_binary: dict[str, bytes] = field(default_factory=dict)
    names_json: bytes | None = None
    draw_order: np.ndarray | None = None  # (N,) uint32, see app/services/points.py
    sorted_errors: np.ndarray | None = None


class Explorer:
    def __init__(self, store: ModelStore, worker: InferenceWorker, max_image_pixels: int) -> None:
        self.store = store
        self.worker = worker
        self.max_image_pixels = max_image_pixels
        self._state: dict[str, ModelState] = {}

    def prepare(self) -> None:
        """Derive what every model's requests share (its attribute vectors) before serving:
        seconds at a million items, which must not land on the event loop of a first request.
        Synchronous: the lifespan runs it on the inference thread."""
        for m in self.store.models.values():
            self.attributes(m)

    # ---- lookups -------------------------------------------------------------------------
    def model(self, name: str) -> LoadedModel:
        return self.store.get(name)

    def state(self, m: LoadedModel) -> ModelState:
        return self._state.setdefault(m.name, ModelState())

    @staticmethod
    def projection_name(m: LoadedModel, projection: str | None) -> str:
        names = list(m.index.projections)
        if projection is None:
            return DEFAULT_PROJECTION if DEFAULT_PROJECTION in names else names[0]
        if projection not in m.index.projections:
            shown = projection[:40]
            raise UnsupportedError(
                f"model {m.name!r} has no projection {shown!r}: choose one of {', '.join(names)}",
                code="unknown_projection",
            )
        return projection

    @staticmethod
    def item(m: LoadedModel, item_id: int) -> int:
        n = len(m.index)
        if not 0 <= item_id < n:
            raise NotFoundError(
                f"model {m.name!r} has no item {item_id}: ids run from 0 to {n - 1}",
                code="unknown_item",
            )
        return item_id

    @staticmethod
    def check_latent(
        m: LoadedModel, values: list[float] | np.ndarray, what: str = "latent"
    ) -> np.ndarray:
        z = np.asarray(values, dtype=np.float64)
        if z.ndim != 1 or len(z) != m.latent_dim:
            raise InvalidInputError(
                f"{what} has {z.size} values but model {m.name!r} has a latent size of "
                f"{m.latent_dim}",
                code="wrong_latent_size",
            )
        if not np.isfinite(z).all():
            raise InvalidInputError(f"{what} contains NaN or infinite values", code="not_finite")
        if np.abs(z).max(initial=0.0) > LATENT_LIMIT:
            raise InvalidInputError(
                f"{what} has values beyond +-{LATENT_LIMIT:g}: latent values are usually within "
                "a few units of zero",
                code="latent_out_of_range",
            )
        return z.astype(np.float32)

    @staticmethod
    def check_k(m: LoadedModel, k: int) -> None:
        """``k`` for results that carry neighbours: 0 (none) up to the dataset size."""
        if not 0 <= k <= min(MAX_K, len(m.index)):
            raise InvalidInputError(
                f"k must be from 0 to {min(MAX_K, len(m.index))}, got {k}", code="bad_k"
            )

    def check_point(self, m: LoadedModel, point: tuple[float, float] | list[float]) -> np.ndarray:
        xy = np.asarray(point, dtype=np.float64)
        if xy.shape != (2,) or not np.isfinite(xy).all() or np.abs(xy).max() > 1e9:
            raise InvalidInputError("point must be two finite numbers [x, y]", code="bad_point")
        return xy.astype(np.float32)

    def resolve(self, m: LoadedModel, ref: Ref, what: str = "endpoint") -> np.ndarray:
        """The latent a Ref names (exactly one of id, latent or point must be given)."""
        given = [k for k in ("id", "latent", "point") if getattr(ref, k) is not None]
        if len(given) != 1:
            raise InvalidInputError(
                f"{what} needs exactly one of id, latent or point (with projection); got "
                f"{', '.join(given) or 'none'}",
                code="bad_reference",
            )
        if ref.id is not None:
            return m.index.latents[self.item(m, ref.id)].copy()
        if ref.latent is not None:
            return self.check_latent(m, ref.latent, what)
        assert ref.point is not None
        projection = self.projection_name(m, ref.projection)
        xy = self.check_point(m, ref.point)
        return m.index.inverses[projection].transform(xy[None])[0].astype(np.float32)

    def positions(self, m: LoadedModel, latents: np.ndarray) -> dict[str, np.ndarray]:
        """(B, D) latents -> {projection: (B, 2)}, stable per point."""
        return {name: p.transform(latents) for name, p in m.index.projections.items()}

    def neighbours(
        self,
        m: LoadedModel,
        latent: np.ndarray,
        k: int,
        metric: str = "euclidean",
        exclude: int | None = None,
    ) -> Neighbours:
        if metric not in ("euclidean", "cosine"):
            raise InvalidInputError(
                f"unknown metric {metric[:40]!r}: choose euclidean or cosine", code="bad_metric"
            )
        k_max = min(MAX_K, len(m.index) - (1 if exclude is not None else 0))
        if not 1 <= k <= k_max:
            raise InvalidInputError(f"k must be from 1 to {k_max}, got {k}", code="bad_k")
        search = m.neighbor_index(metric)
        ids, dist = search.query(latent[None], k, exclude=exclude)
        exact = isinstance(search, NeighborIndex)
        return Neighbours(ids[0].tolist(), [float(d) for d in dist[0]], metric, exact)

    async def decode(self, m: LoadedModel, latents: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, C, H, W) through the micro-batching worker; always finite."""
        images = await self.worker.decode(m.name, m.decode, latents)
        return np.nan_to_num(images, nan=0.0, posinf=1.0, neginf=0.0)

    async def pictures(
        self, m: LoadedModel, latents: np.ndarray, known: dict[int, int] | None = None
    ) -> tuple[np.ndarray | None, Nearest | None]:
        """(B, D) -> their images: decoded, or without a decoder the nearest real items' (and
        which items those are; images None when the entry stores none). ``known``: rows that
        are an item's own latent -> that item (see ``nearest_items``)."""
        if m.can_decode:
            return await self.decode(m, latents), None
        near = await self.worker.run(nearest_items, m, latents, known)
        return near.images, near

    async def place(
        self,
        m: LoadedModel,
        latent: np.ndarray,
        k: int = 0,
        metric: str = "euclidean",
        item: int | None = None,
    ) -> Placed:
        """``item``: the dataset item whose own latent this is, if any."""
        known = None if item is None else {0: item}
        images, nearest = await self.pictures(m, latent[None], known)
        positions = {
            n: (float(p[0, 0]), float(p[0, 1])) for n, p in self.positions(m, latent[None]).items()
        }
        near = self.neighbours(m, latent, k, metric) if k else None
        return Placed(latent, positions, None if images is None else images[0], near, nearest)

    # ---- operations ----------------------------------------------------------------------
    def points_json(self, m: LoadedModel, projection: str | None) -> bytes:
        """All points of a projection as compact columnar JSON, serialised once and cached."""
        name = self.projection_name(m, projection)
        cache = self.state(m).points_json
        if name not in cache:
            cache[name] = points.points_json(m.index, m.name, name)
        return cache[name]

    def points_binary(self, m: LoadedModel, projection: str | None) -> bytes:
        """All points of a projection in the binary form (app/services/points.py), serialised
        once and cached."""
        name = self.projection_name(m, projection)
        state = self.state(m)
        if name not in state.points_binary:
            if state.draw_order is None:
                state.draw_order = points.draw_order(len(m.index))
            body = points.points_binary(m.index, m.name, name, state.draw_order)
            state.points_binary[name] = body
        return state.points_binary[name]

    def names_json(self, m: LoadedModel) -> bytes:
        """Every item's name, in id order, as ``{"count": N, "names": [...]}``; cached."""
        state = self.state(m)
        if state.names_json is None:
            names = m.index.item_names.tolist()
            body = {"count": len(names), "names": names}
            state.names_json = json.dumps(body, separators=(",", ":")).encode()
        return state.names_json

    def item_facts(self, m: LoadedModel, item_id: int) -> points.ItemFacts:
        """One item's name, label, reconstruction error, metadata and map positions."""
        return points.item_facts(m.index, self.item(m, item_id))

    def item_png(self, m: LoadedModel, item_id: int) -> bytes:
        item = self.item(m, item_id)
        return png_bytes(require_images(m)[item])

    async def encode_upload(
        self, m: LoadedModel, data: bytes, k: int = 8, filename: str | None = None
    ) -> Encoded:
        """Place an uploaded image: latent, positions, reconstruction, anomaly score, neighbours.

        Without a decoder there is no reconstruction (error and score None) and the image is
        the nearest real item's."""
        require_encoder(m)
        self.check_k(m, k)

        def read_and_encode() -> tuple[np.ndarray, np.ndarray]:
            # Off the event loop: a large JPEG takes milliseconds to decode.
            x = load_upload(
                data,
                image_shape=m.image_shape,
                max_pixels=self.max_image_pixels,
                background=m.background,
                filename=filename,
            )  # (C, H, W)
            return x, m.encode(x[None])[0]

        x, latent = await self.worker.run(read_and_encode)
        placed = await self.place(m, latent, k)
        error: float | None = None
        percentile: float | None = None
        if placed.nearest is None and placed.image is not None:  # decoded: a reconstruction
            error = float(np.mean((placed.image - x) ** 2))
        state = self.state(m)
        if state.sorted_errors is None and m.index.errors is not None:
            state.sorted_errors = np.sort(m.index.errors)
        if error is not None and state.sorted_errors is not None:
            rank = np.searchsorted(state.sorted_errors, error, side="right")
            percentile = float(100.0 * rank / len(state.sorted_errors))
        return Encoded(
            placed.latent,
            placed.positions,
            placed.image,
            placed.neighbours,
            placed.nearest,
            reconstruction_error=error,
            error_percentile=percentile,
            input_image=x,
        )

    async def interpolate(
        self, m: LoadedModel, start: Ref, end: Ref, steps: int, method: str, projection: str | None
    ) -> Path_:
        if not 2 <= steps <= 64:
            raise InvalidInputError(f"steps must be from 2 to 64, got {steps}", code="bad_steps")
        if method not in ("lerp", "slerp"):
            raise InvalidInputError(
                f"unknown method {method[:40]!r}: choose lerp or slerp", code="bad_method"
            )
        name = self.projection_name(m, projection)
        a, b = self.resolve(m, start, "start"), self.resolve(m, end, "end")
        method_: Method = "lerp" if method == "lerp" else "slerp"
        latents = interpolate(a, b, steps, method_)
        ends = {0: start.id, steps - 1: end.id}  # the endpoints are these items exactly
        known = {row: item for row, item in ends.items() if item is not None}
        images, nearest = await self.pictures(m, latents, known)
        positions = m.index.projections[name].transform(latents)
        return Path_(latents, positions, images, name, method, nearest)

    def attributes(self, m: LoadedModel) -> list[Attribute]:
        state = self.state(m)
        if state.attributes is None:
            state.attributes = derive_attributes(m.index)
        return state.attributes + state.custom

    def attribute(self, m: LoadedModel, attribute_id: str) -> Attribute:
        for attribute in self.attributes(m):
            if attribute.id == attribute_id:
                return attribute
        raise NotFoundError(
            f"model {m.name!r} has no attribute {attribute_id[:60]!r}: list them with "
            f"GET /api/models/{m.name}/attributes",
            code="unknown_attribute",
        )

    def add_attribute(
        self, m: LoadedModel, name: str, group_a: list[int], group_b: list[int]
    ) -> Attribute:
        state = self.state(m)
        attribute = custom_attribute(m.index, len(state.custom) + 1, name, group_a, group_b)
        state.custom.append(attribute)
        return attribute

    async def arithmetic(
        self,
        m: LoadedModel,
        start: Ref,
        terms: list[tuple[str | None, list[float] | None, float]],
        k: int,
        metric: str = "euclidean",
    ) -> Placed:
        """``start + sum(weight_i * vector_i)``; a term names an attribute or gives a vector."""
        self.check_k(m, k)
        base = self.resolve(m, start, "start")
        vectors, weights = [], []
        for i, (attribute_id, vector, weight) in enumerate(terms):
            if (attribute_id is None) == (vector is None):
                raise InvalidInputError(
                    f"term {i} needs exactly one of attribute or vector", code="bad_term"
                )
            if not np.isfinite(weight) or abs(weight) > 1e3:
                raise InvalidInputError(
                    f"term {i}: weight must be a finite number within +-1000", code="bad_weight"
                )
            vectors.append(
                self.attribute(m, attribute_id).vector
                if attribute_id is not None
                else self.check_latent(m, vector or [], f"term {i} vector")
            )
            weights.append(weight)
        return await self.place(m, combine(base, vectors, weights), k, metric)

    async def analogy(
        self, m: LoadedModel, a: Ref, b: Ref, c: Ref, k: int, metric: str = "euclidean"
    ) -> Placed:
        """``a - b + c``."""
        self.check_k(m, k)
        z = analogy(self.resolve(m, a, "a"), self.resolve(m, b, "b"), self.resolve(m, c, "c"))
        return await self.place(m, z, k, metric)

    def neighbours_of(self, m: LoadedModel, ref: Ref, k: int, metric: str) -> Neighbours:
        latent = self.resolve(m, ref, "query")
        return self.neighbours(m, latent, k, metric, exclude=ref.id)

    async def decode_ref(self, m: LoadedModel, ref: Ref) -> Placed:
        """A ref's image and positions. Without a decoder a click (a point or an id) gets the
        nearest real item's image, while decoding a raw latent is refused (409 no_decoder)."""
        latent = self.resolve(m, ref, "input")
        if ref.latent is not None:
            require_decoder(m, "an image of a latent vector")
        placed = await self.place(m, latent, item=ref.id)
        if ref.point is not None:
            # The latent came from this very point: report it there, not where the forward
            # placement (a different, lossy map) would put the latent.
            name = self.projection_name(m, ref.projection)
            placed.positions[name] = (float(ref.point[0]), float(ref.point[1]))
        return placed

    async def drag_frame(
        self, m: LoadedModel, projection: str, xy: np.ndarray
    ) -> tuple[np.ndarray, bytes]:
        """2D point -> latent -> PNG bytes: the drag stream's unit of work.

        The whole frame is one call on the inference thread: a single hand-off, and the PNG
        is made there too, off the event loop.
        """

        def frame() -> tuple[np.ndarray, bytes]:
            latent = m.index.inverses[projection].transform(xy[None])  # (1, D)
            image = m.decode(latent)[0]  # (C, H, W)
            return latent[0], png_bytes(image)  # png_bytes maps NaN to black itself

        return await self.worker.run(frame)

    async def nearest_drag_frame(
        self, m: LoadedModel, projection: str, xy: np.ndarray
    ) -> NearestFrame:
        """``drag_frame`` without a decoder: the nearest real item to the point's latent."""
        return await self.worker.run(nearest_frame, m, projection, xy)

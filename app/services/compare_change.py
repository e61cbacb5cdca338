"""Aligned comparison: one model's map turned onto the reference's, and what changed.

Two models of the same items draw them on maps whose axes mean nothing in common: a map may
come out rotated, mirrored, shifted or at another scale. ``procrustes`` finds the similarity
transform (translation, rotation or reflection, uniform scale) that puts one map's points onto
the reference's positions of the same items: orthogonal Procrustes with scaling, the rotation
from the SVD of the 2x2 cross-covariance. The scale gives the map the reference's spread
rather than the least-squares scale, which shrinks a map that fits poorly toward its centre (an
unrelated model would be drawn as a small blob); the rotation is the least-squares one at any
scale, and for a map that is an exact similarity copy both scales are the same. What is left
after it is what really differs.

What differs in latent space is measured per item, independently of any map: the share of its
10 nearest latent neighbours (``KNN``) in the reference model that are not among its 10 nearest
in the other (0: the same neighbourhood, 1: an entirely new one), found with each model's own
neighbour search (exact, or the calibrated approximate one at scale) and kept per pair.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.index.faithfulness import shared_counts
from app.services.compare import check_aligned
from app.services.loaded import LoadedModel, ModelStore
from app.services.refs import projection_name
from models.errors import InvalidInputError

KNN = 10  # neighbours compared per item, as for faithfulness and trustworthiness


@dataclass(frozen=True)
class Alignment:
    """``aligned = scale * xy @ rotation + translation``: ``xy`` put onto the reference."""

    scale: float
    rotation: npt.NDArray[np.float64]  # (2, 2) orthogonal; det -1 for a reflection
    translation: npt.NDArray[np.float64]  # (2,)
    aligned: npt.NDArray[np.float64]  # (N, 2)
    rms: float  # root mean square distance left between aligned and reference positions
    # scipy.spatial.procrustes' figure: the least-squares residual of the two maps, each
    # centred and scaled to unit size; 0 for similar maps, 1 for unrelated ones
    disparity: float

    @property
    def reflected(self) -> bool:
        return bool(np.linalg.det(self.rotation) < 0)


def procrustes(reference: npt.ArrayLike, xy: npt.ArrayLike) -> Alignment:
    """The similarity transform of ``xy`` (N, 2) closest in least squares to ``reference``
    (N, 2), the same items in the same rows."""
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(xy, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2 or x.shape[1] != 2 or len(x) < 2:
        raise InvalidInputError(
            f"maps to align must both have shape (N, 2) with N >= 2; got {x.shape} and {y.shape}"
        )
    mx, my = x.mean(0), y.mean(0)
    x0, y0 = x - mx, y - my  # (N, 2) each
    u, s, vt = np.linalg.svd(y0.T @ x0)  # (2, 2): the cross-covariance
    rotation = u @ vt
    spread_x, spread_y = float(np.sum(x0 * x0)), float(np.sum(y0 * y0))
    # A map whose points all coincide has no orientation or size: it goes onto the centre.
    scale = float(np.sqrt(spread_x / spread_y)) if spread_y > 0 else 1.0
    aligned = scale * y0 @ rotation + mx
    residual = float(np.sum((aligned - x) ** 2))
    sizes = spread_x * spread_y
    return Alignment(
        scale=scale,
        rotation=rotation,
        translation=mx - scale * my @ rotation,
        aligned=aligned,
        rms=float(np.sqrt(residual / len(x))),
        disparity=max(0.0, 1.0 - float(s.sum()) ** 2 / sizes) if sizes > 0 else 0.0,
    )


def align_models(store: ModelStore, reference: str, model: str, projection: str) -> Alignment:
    """GET /api/compare/align: ``model``'s map of ``projection`` aligned to ``reference``'s;
    409 unless they index the same items, 422 unless both have the projection."""
    ref, other = store.get(reference), store.get(model)
    check_aligned(ref.name, ref.index, other.name, other.index)
    for m in (ref, other):
        projection_name(m, projection)
    return procrustes(
        ref.index.projections[projection].embedding_,
        other.index.projections[projection].embedding_,
    )


def neighbourhood_change(
    reference_knn: npt.NDArray[np.int64], other_knn: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """(N,) the share of each item's neighbours in ``reference_knn`` (N, k) missing from its
    row of ``other_knn`` (N, k)."""
    k = reference_knn.shape[1]
    return 1.0 - shared_counts(reference_knn, other_knn) / k


def pair_change(ref: LoadedModel, other: LoadedModel) -> npt.NDArray[np.float64]:
    """``neighbourhood_change`` of ``other`` against ``ref``, kept on ``ref`` per other model.
    Synchronous (the neighbour searches take seconds at scale): run it off the event loop."""
    found = ref.neighbourhood_changes.get(other.name)
    if found is None:
        found = neighbourhood_change(ref.latent_knn(KNN), other.latent_knn(KNN))
        ref.neighbourhood_changes[other.name] = found
    return found


async def change_models(store: ModelStore, reference: str, model: str) -> np.ndarray:
    """GET /api/compare/change: (N,) the neighbourhood change of ``model`` against
    ``reference``; 409 unless they index the same items."""
    ref, other = store.get(reference), store.get(model)
    check_aligned(ref.name, ref.index, other.name, other.index)
    if len(ref.index) <= KNN:
        raise InvalidInputError(
            f"comparing neighbourhoods needs more than {KNN} items; the models have "
            f"{len(ref.index)}",
            code="too_few_items",
        )
    return await asyncio.to_thread(pair_change, ref, other)


def most_changed(change: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.int64]:
    """The ``n`` items whose neighbourhoods changed most, most first (ties by id)."""
    order = np.argsort(-change, kind="stable")
    return order[:n].astype(np.int64)

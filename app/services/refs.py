"""What a request names, checked against one model: a projection, an item, a latent, a 2D
point, a neighbour count, and a ``Ref`` (an item, a latent or a point) resolved to its latent.

Each check raises a ``LatentExplorerError`` whose message says what was wrong and what is
allowed: 404 for an item that does not exist, 422 for a value that is not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.services.loaded import LoadedModel
from models.errors import InvalidInputError, NotFoundError

LATENT_LIMIT = 1e6  # larger components are almost surely a mistake, and overflow decoders
MAX_K = 1000
MAX_COORDINATE = 1e9  # a map position past this is a mistake, not a place


@dataclass
class Ref:
    """A place in latent space: a dataset item, a latent vector, or a point on a projection."""

    id: int | None = None
    latent: list[float] | None = None
    point: tuple[float, float] | None = None
    projection: str | None = None


def projection_name(m: LoadedModel, projection: str | None) -> str:
    """``projection``, checked against the model's; its default projection for None."""
    if projection is None:
        return m.default_projection
    if projection not in m.index.projections:
        names = ", ".join(m.index.projections)
        raise InvalidInputError(
            f"model {m.name!r} has no projection {projection[:40]!r}: choose one of {names}",
            code="unknown_projection",
        )
    return projection


def item(m: LoadedModel, item_id: int) -> int:
    """``item_id`` if the model has that item."""
    n = len(m.index)
    if not 0 <= item_id < n:
        raise NotFoundError(
            f"model {m.name!r} has no item {item_id}: ids run from 0 to {n - 1}",
            code="unknown_item",
        )
    return item_id


def parse_item(m: LoadedModel, item_id: str) -> int:
    """An item id from a URL path: a row number; anything else (``..``, long strings) is
    simply not found. ASCII digits only: ``str.isdigit`` also accepts characters such as
    ``²`` that ``int`` cannot parse."""
    if not (item_id.isascii() and item_id.isdigit() and len(item_id) <= 12):
        shown = item_id if len(item_id) <= 40 else item_id[:37] + "..."
        raise NotFoundError(
            f"model {m.name!r} has no item {shown!r}: ids run from 0 to {len(m.index) - 1}",
            code="unknown_item",
        )
    return item(m, int(item_id))


def check_latent(
    m: LoadedModel, values: list[float] | np.ndarray, what: str = "latent"
) -> np.ndarray:
    """(D,) float32 from ``values``: the model's latent size, finite, within LATENT_LIMIT."""
    z = np.asarray(values, dtype=np.float64)
    if z.ndim != 1 or len(z) != m.latent_dim:
        raise InvalidInputError(
            f"{what} has {z.size} values but model {m.name!r} has a latent size of {m.latent_dim}",
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


def check_k(m: LoadedModel, k: int) -> None:
    """``k`` for results that carry neighbours: 0 (none) up to the dataset size."""
    if not 0 <= k <= min(MAX_K, len(m.index)):
        raise InvalidInputError(
            f"k must be from 0 to {min(MAX_K, len(m.index))}, got {k}", code="bad_k"
        )


def check_point(point: tuple[float, float] | list[float]) -> np.ndarray:
    """(2,) float32 from ``point``: two finite numbers of a sane size."""
    xy = np.asarray(point, dtype=np.float64)
    if xy.shape != (2,) or not np.isfinite(xy).all() or np.abs(xy).max() > MAX_COORDINATE:
        raise InvalidInputError("point must be two finite numbers [x, y]", code="bad_point")
    return xy.astype(np.float32)


def resolve(m: LoadedModel, ref: Ref, what: str = "endpoint") -> np.ndarray:
    """The (D,) latent a Ref names (exactly one of id, latent or point must be given)."""
    given = [k for k in ("id", "latent", "point") if getattr(ref, k) is not None]
    if len(given) != 1:
        raise InvalidInputError(
            f"{what} needs exactly one of id, latent or point (with projection); got "
            f"{', '.join(given) or 'none'}",
            code="bad_reference",
        )
    if ref.id is not None:
        return m.index.latents[item(m, ref.id)].copy()
    if ref.latent is not None:
        return check_latent(m, ref.latent, what)
    assert ref.point is not None
    projection = projection_name(m, ref.projection)
    xy = check_point(ref.point)
    return m.index.inverses[projection].transform(xy[None])[0].astype(np.float32)

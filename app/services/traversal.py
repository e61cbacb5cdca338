"""Traversal grids: from one latent, step along each latent dimension (or attribute vector)
from -r to +r standard deviations: the classroom view of what each direction means."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.services.attribute_catalog import find_attribute
from app.services.from_data import from_data
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.nearest import require_decoder
from app.services.placing import decode
from app.services.refs import Ref, resolve
from app.services.results import FromData
from models.errors import InvalidInputError

MIN_TRAVERSE_STEPS, MAX_TRAVERSE_STEPS = 3, 15  # images per row
MAX_RADIUS = 10.0  # in standard deviations: past it the decoder sees nothing it was trained on


@dataclass
class TraversalRow:
    label: str
    offsets: np.ndarray  # (S,) in standard deviations
    latents: np.ndarray  # (S, D)
    images: np.ndarray | None = None  # (S, C, H, W) decoded, once ``traverse`` drew them
    from_data: list[FromData] | None = None  # per image, once ``traverse`` drew them


async def traverse(
    worker: InferenceWorker,
    m: LoadedModel,
    start: Ref,
    steps: int,
    radius: float,
    attributes: list[str] | None = None,
) -> list[TraversalRow]:
    """The traversal grid around ``start``, decoded: one row per latent dimension, or per
    attribute (by id) when ``attributes`` is given. A model without a decoder: 409."""
    z = resolve(m, start, "start")
    # A grid of the decoder's variations: nearest items would mostly repeat one image.
    require_decoder(m, "a traversal grid (decoded variations around a place)")
    directions = None
    if attributes is not None:
        directions = [(a, find_attribute(m, a).vector) for a in attributes]
    rows = traversal_rows(z, m.index.latents, steps, radius, directions, std=m.latent_std())
    images = await decode(worker, m, np.concatenate([row.latents for row in rows]))
    first = 0
    for row in rows:
        row.images = images[first : first + len(row.latents)]
        row.from_data = from_data(m, row.latents)
        first += len(row.latents)
    return rows


def traversal_rows(
    start: np.ndarray,
    latents: np.ndarray,
    steps: int,
    radius: float,
    directions: list[tuple[str, np.ndarray]] | None = None,
    std: np.ndarray | None = None,
) -> list[TraversalRow]:
    """Rows of latents around ``start``.

    With ``directions`` None: one row per latent dimension d, moving z_d by -radius..+radius
    times the dataset's standard deviation of z_d. Otherwise one row per (label, vector): moving
    along the unit vector by the same multiples of the dataset's spread along that vector.
    ``std``: the (D,) spread of ``latents`` when the caller has it already.
    """
    if not MIN_TRAVERSE_STEPS <= steps <= MAX_TRAVERSE_STEPS:
        raise InvalidInputError(
            f"steps must be from {MIN_TRAVERSE_STEPS} to {MAX_TRAVERSE_STEPS}, got {steps}",
            code="bad_steps",
        )
    if not (np.isfinite(radius) and 0 < radius <= MAX_RADIUS):
        raise InvalidInputError(
            f"radius must be above 0 and at most {MAX_RADIUS:g}, got {radius}", code="bad_radius"
        )
    offsets = np.linspace(-radius, radius, steps)  # (S,)
    rows = []
    if directions is None:
        if std is None:
            std = latents.std(0).astype(np.float64)  # (D,)
        for d in range(latents.shape[1]):
            z = np.repeat(start[None].astype(np.float64), steps, 0)  # (S, D)
            z[:, d] += offsets * std[d]
            rows.append(TraversalRow(f"z{d}", offsets, z.astype(np.float32)))
        return rows
    for label, vector in directions:
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            raise InvalidInputError(f"attribute {label!r} is a zero vector", code="bad_term")
        unit = vector.astype(np.float64) / norm
        spread = float((latents @ unit).std())  # the dataset's spread along this direction
        z = start[None].astype(np.float64) + (offsets * spread)[:, None] * unit[None]  # (S, D)
        rows.append(TraversalRow(label, offsets, z.astype(np.float32)))
    return rows

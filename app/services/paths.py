"""Paths through latent space: lerp or slerp between two places, each step placed and drawn."""

from __future__ import annotations

from app.services.from_data import from_data
from app.services.inference import InferenceWorker
from app.services.latent_math import Method, interpolate
from app.services.loaded import LoadedModel
from app.services.placing import pictures
from app.services.refs import Ref, projection_name, resolve
from app.services.results import LatentPath
from models.errors import InvalidInputError

METHODS: tuple[Method, ...] = ("lerp", "slerp")
MIN_STEPS, MAX_STEPS = 2, 64


async def interpolate_path(
    worker: InferenceWorker,
    m: LoadedModel,
    start: Ref,
    end: Ref,
    steps: int,
    method: str,
    projection: str | None,
) -> LatentPath:
    """``steps`` latents from ``start`` to ``end`` (the ends exactly), with their positions on
    ``projection`` and their images."""
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise InvalidInputError(
            f"steps must be from {MIN_STEPS} to {MAX_STEPS}, got {steps}", code="bad_steps"
        )
    if method not in METHODS:
        raise InvalidInputError(
            f"unknown method {method[:40]!r}: choose lerp or slerp", code="bad_method"
        )
    name = projection_name(m, projection)
    a, b = resolve(m, start, "start"), resolve(m, end, "end")
    latents = interpolate(a, b, steps, "lerp" if method == "lerp" else "slerp")
    ends = {0: start.id, steps - 1: end.id}  # the endpoints are these items exactly
    known = {row: item for row, item in ends.items() if item is not None}
    images, nearest = await pictures(worker, m, latents, known)
    positions = m.index.projections[name].transform(latents)
    return LatentPath(
        latents,
        positions,
        images,
        name,
        method,
        nearest,
        image_source=m.decoded_source,
        from_data=from_data(m, latents),
    )

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.routers.convert import image_out, ref
from app.schemas import InterpolateIn, InterpolateOut
from app.services.results import Path_

router = APIRouter(prefix="/api/models", tags=["interpolate"], responses=API_ERRORS)


@router.post(
    "/{model}/interpolate",
    summary="Interpolate between two endpoints (lerp or slerp, 2 to 64 steps)",
    description="Endpoints are dataset ids, latents (e.g. an upload's latent from /encode) or "
    "2D points. Returns each step's latent, its position on the projection and its image; "
    "the first and last latents are the endpoints exactly. Without a decoder each step's image "
    "is the nearest dataset item's (`image_source` `nearest`, `nearest_ids`, `nearest_names`).",
)
async def interpolate_latents(
    m: ModelDep, explorer: ExplorerDep, body: InterpolateIn
) -> InterpolateOut:
    path = await explorer.interpolate(
        m, ref(body.start), ref(body.end), body.steps, body.method, body.projection
    )
    # None: the nearest items have no images (embeddings imported without them)
    steps = path.images if path.images is not None else [None] * len(path.latents)
    return InterpolateOut(
        method=path.method,
        projection=path.projection,
        latents=path.latents.tolist(),
        positions=[(float(x), float(y)) for x, y in path.positions],
        images=[image_out(image) for image in steps],
        **nearest_steps(path),
    )


def nearest_steps(path: Path_) -> dict[str, Any]:
    """The ``image_source`` fields of a path: decoded, or each step's nearest item."""
    if path.nearest is None:
        return {"image_source": "decoded"}
    ids = [int(i) for i in path.nearest.ids]
    return {"image_source": "nearest", "nearest_ids": ids, "nearest_names": path.nearest.names}

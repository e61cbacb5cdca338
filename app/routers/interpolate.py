from __future__ import annotations

from fastapi import APIRouter

from app.convert import path_out, ref
from app.deps import ModelDep, WorkerDep
from app.errors import API_ERRORS
from app.schemas import InterpolateIn, InterpolateOut
from app.services.paths import interpolate_path

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
    m: ModelDep, worker: WorkerDep, body: InterpolateIn
) -> InterpolateOut:
    path = await interpolate_path(
        worker, m, ref(body.start), ref(body.end), body.steps, body.method, body.projection
    )
    return path_out(path)

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.routers.convert import ref
from app.schemas import InterpolateIn, InterpolateOut
from app.services.images import png_data_url

router = APIRouter(prefix="/api/models", tags=["interpolate"], responses=API_ERRORS)


@router.post(
    "/{model}/interpolate",
    summary="Interpolate between two endpoints (lerp or slerp, 2 to 64 steps)",
    description="Endpoints are dataset ids, latents (e.g. an upload's latent from /encode) or "
    "2D points. Returns each step's latent, its position on the projection and its image; "
    "the first and last latents are the endpoints exactly.",
)
async def interpolate_latents(
    m: ModelDep, explorer: ExplorerDep, body: InterpolateIn
) -> InterpolateOut:
    path = await explorer.interpolate(
        m, ref(body.start), ref(body.end), body.steps, body.method, body.projection
    )
    return InterpolateOut(
        method=path.method,
        projection=path.projection,
        latents=path.latents.tolist(),
        positions=[(float(x), float(y)) for x, y in path.positions],
        images=[png_data_url(image) for image in path.images],
    )

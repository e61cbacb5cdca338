from __future__ import annotations

from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.routers.convert import neighbours_out, ref
from app.schemas import NeighboursIn, NeighboursOut

router = APIRouter(prefix="/api/models", tags=["neighbors"], responses=API_ERRORS)


@router.post(
    "/{model}/neighbors",
    summary="The k nearest dataset items to an id, a latent or a 2D point (exact search)",
    description="An item is not its own neighbour. Distances are euclidean, or cosine "
    "distance (1 - cosine similarity).",
)
async def find_neighbors(m: ModelDep, explorer: ExplorerDep, body: NeighboursIn) -> NeighboursOut:
    result = neighbours_out(explorer.neighbours_of(m, ref(body), body.k, body.metric))
    assert result is not None
    return result

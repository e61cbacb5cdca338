from __future__ import annotations

from fastapi import APIRouter

from app.convert import neighbors_out, ref
from app.deps import ModelDep
from app.errors import API_ERRORS
from app.schemas import NeighboursIn, NeighboursOut
from app.services.neighbors import find_neighbors as find_neighbors_of

router = APIRouter(prefix="/api/models", tags=["neighbors"], responses=API_ERRORS)


@router.post(
    "/{model}/neighbors",
    summary="The k nearest dataset items to an id, a latent or a 2D point (exact search)",
    description="An item is not its own neighbour. Distances are euclidean, or cosine "
    "distance (1 - cosine similarity).",
)
async def find_neighbors(m: ModelDep, body: NeighboursIn) -> NeighboursOut:
    return neighbors_out(find_neighbors_of(m, ref(body), body.k, body.metric))

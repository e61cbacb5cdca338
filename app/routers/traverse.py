from __future__ import annotations

from fastapi import APIRouter

from app.convert import ref, traversal_out
from app.deps import ModelDep, WorkerDep
from app.errors import API_ERRORS, error_responses
from app.schemas import TraverseIn, TraverseOut
from app.services.traversal import traverse

router = APIRouter(prefix="/api/models", tags=["traverse"], responses=API_ERRORS)


@router.post(
    "/{model}/traverse",
    summary="Traversal grid: vary each latent dimension (or attribute) by -r..+r std devs",
    description="Rows of decoded images around `start`; row r moves along latent dimension r, "
    "or along attribute r when `attributes` is given, by multiples of the dataset's standard "
    "deviation in that direction. A model without a decoder answers 409 `no_decoder`.",
    responses=error_responses(409),
)
async def traverse_latent(m: ModelDep, worker: WorkerDep, body: TraverseIn) -> TraverseOut:
    rows = await traverse(worker, m, ref(body.start), body.steps, body.radius, body.attributes)
    return traversal_out(rows)

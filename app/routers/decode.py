from __future__ import annotations

from fastapi import APIRouter

from app.convert import placed_out, ref
from app.deps import ModelDep, WorkerDep
from app.errors import API_ERRORS, error_responses
from app.schemas import DecodeIn, PlacedOut
from app.services.decoding import decode_ref

router = APIRouter(prefix="/api/models", tags=["decode"], responses=API_ERRORS)


@router.post(
    "/{model}/decode",
    summary="Decode a latent vector, or a 2D point on a projection, into an image",
    description="Give `latent` (a list of latent_dim floats), `point` [x, y] with `projection`, "
    "or a dataset `id`. Returns the image, the latent used and its positions. A model without "
    "a decoder answers a `point` or an `id` with the nearest item's image (`image_source` "
    "`nearest`) and a `latent` with 409 `no_decoder`.",
    responses=error_responses(409),
)
async def decode_latent(m: ModelDep, worker: WorkerDep, body: DecodeIn) -> PlacedOut:
    return placed_out(await decode_ref(worker, m, ref(body)))

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.routers.convert import placed_out, ref
from app.schemas import ArithmeticIn, PlacedOut
from app.services.errors import InvalidInputError

router = APIRouter(prefix="/api/models", tags=["arithmetic"], responses=API_ERRORS)


@router.post(
    "/{model}/arithmetic",
    summary="Latent arithmetic: start + sum(weight * vector), or the analogy a - b + c",
    description="Terms name an attribute id (see GET attributes) or give a raw vector. "
    "Returns the resulting latent, its positions, its decoded image and its neighbours.",
)
async def compute_arithmetic(m: ModelDep, explorer: ExplorerDep, body: ArithmeticIn) -> PlacedOut:
    if (body.analogy is None) == (body.start is None):
        raise InvalidInputError(
            "give either start (with terms) or analogy, not both or neither", code="bad_arithmetic"
        )
    if body.analogy is not None:
        a = body.analogy
        placed = await explorer.analogy(m, ref(a.a), ref(a.b), ref(a.c), body.k, body.metric)
    else:
        assert body.start is not None
        terms = [(t.attribute, t.vector, t.weight) for t in body.terms]
        placed = await explorer.arithmetic(m, ref(body.start), terms, body.k, body.metric)
    return placed_out(placed)

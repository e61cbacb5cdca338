from __future__ import annotations

from fastapi import APIRouter

from app.convert import placed_out, ref
from app.deps import ModelDep, WorkerDep
from app.errors import API_ERRORS
from app.schemas import ArithmeticIn, PlacedOut
from app.services import arithmetic
from app.services.arithmetic import Term

router = APIRouter(prefix="/api/models", tags=["arithmetic"], responses=API_ERRORS)


@router.post(
    "/{model}/arithmetic",
    summary="Latent arithmetic: start + sum(weight * vector), or the analogy a - b + c",
    description="Terms name an attribute id (see GET attributes) or give a raw vector. "
    "Returns the resulting latent, its positions, its decoded image and its neighbours.",
)
async def compute_arithmetic(m: ModelDep, worker: WorkerDep, body: ArithmeticIn) -> PlacedOut:
    a = body.analogy
    placed = await arithmetic.compute_arithmetic(
        worker,
        m,
        start=None if body.start is None else ref(body.start),
        terms=[Term(t.attribute, t.vector, t.weight) for t in body.terms],
        analogy_refs=None if a is None else (ref(a.a), ref(a.b), ref(a.c)),
        k=body.k,
        metric=body.metric,
    )
    return placed_out(placed)

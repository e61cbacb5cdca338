from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from app.deps import ModelDep, StoreDep
from app.errors import API_ERRORS, error_responses
from app.schemas import ComparableOut, CompareOut
from app.services.compare import comparable_models
from app.services.compare import compare_models as compare_service

router = APIRouter(prefix="/api", tags=["compare"], responses=API_ERRORS)


@router.get(
    "/compare",
    summary="Two models side by side: whether their items align, and their quality figures",
    description="Two models can be compared when they index the same dataset: the same number "
    "of items with the same names in the same order, so an item id means the same image in "
    "both. Otherwise 409 `not_comparable`, naming the difference. `figures` lists "
    "reconstruction error, kNN accuracy, and trustworthiness and faithfulness per projection, "
    "null where a model lacks the figure.",
    responses=error_responses(409),
)
async def compare_models(
    store: StoreDep,
    a: str = Query(
        min_length=1, max_length=200, description="a model, as GET /api/models names it"
    ),
    b: str = Query(min_length=1, max_length=200, description="another model on the same items"),
) -> CompareOut:
    return CompareOut(**asdict(compare_service(store, a, b)))


@router.get(
    "/models/{model}/comparable",
    summary="The other loaded models on the same items as this one (they can be compared)",
    description="The names of the models that `GET /api/compare` would accept next to this one: "
    "the same number of items with the same names in the same order.",
)
async def list_comparable(m: ModelDep, store: StoreDep) -> ComparableOut:
    return ComparableOut(model=m.name, comparable=comparable_models(store, m))

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from app.deps import ModelDep
from app.errors import API_ERRORS, error_responses
from app.schemas import OutlierOut, OutliersOut
from app.services import outliers
from app.services.outliers import MAX_OUTLIERS

router = APIRouter(prefix="/api/models", tags=["outliers"], responses=API_ERRORS)


@router.get(
    "/{model}/outliers",
    summary="The items the model reconstructs worst, largest reconstruction error first",
    description="Each with its id, name, label, error and percentile among the dataset's "
    "errors; ties are ordered by id. A model without a decoder has no reconstruction errors: "
    "409 `no_decoder`.",
    responses=error_responses(409),
)
async def list_outliers(
    m: ModelDep,
    n: int = Query(20, ge=1, le=MAX_OUTLIERS, description=f"how many, 1 to {MAX_OUTLIERS}"),
) -> OutliersOut:
    found = outliers.list_outliers(m, n)
    return OutliersOut(
        model=m.name, count=len(m.index), outliers=[OutlierOut(**asdict(o)) for o in found]
    )

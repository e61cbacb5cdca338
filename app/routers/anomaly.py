from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from app.deps import ModelDep
from app.errors import API_ERRORS, error_responses
from app.schemas import AnomalyOut
from app.services.anomaly import Score, anomaly_json

router = APIRouter(prefix="/api/models", tags=["anomaly"], responses=API_ERRORS)


@router.get(
    "/{model}/anomaly",
    summary="Anomaly detection: a score's distributions, ROC curve and AUC",
    description="For a model trained on its normal classes only (`train --exclude-classes 9`): "
    "every item's score (`reconstruction` error, or `knn`: mean distance to the k nearest "
    "normal training latents), its histogram for the normal items trained on, the held-out "
    "normal items and the anomalous classes, and the ROC curve with its AUC computed on the "
    "held-out normal items against the anomalous classes' items (training items' scores are "
    "optimistic). A model trained on every class: 409 `no_normal_classes`; the reconstruction "
    "score of a model without a decoder: 409 `no_decoder`.",
    response_class=Response,
    responses={200: {"model": AnomalyOut, "description": "the report"}, **error_responses(409)},
)
async def get_anomaly(
    m: ModelDep,
    score: Annotated[Score, Query(description="`reconstruction` or `knn`")] = "reconstruction",
) -> Response:
    # Made once per score, off the event loop (every item's score: MBs at a million items).
    body = await run_in_threadpool(anomaly_json, m, score)
    return Response(body, media_type="application/json")

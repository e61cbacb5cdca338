"""A lasso or box selection on the map: what it holds, against the whole set."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.convert import image_out
from app.deps import ModelDep, WorkerDep
from app.errors import API_ERRORS
from app.schemas import SelectionIn, SelectionStatsOut
from app.services.selection import describe_selection

router = APIRouter(prefix="/api/models", tags=["selection"], responses=API_ERRORS)


@router.post(
    "/{model}/selection/stats",
    summary="A selection's count, labels, average member, medoid, distributions and metadata",
    description="For the item `ids` of a selection: each label's count and share beside the "
    "whole set's; the mean latent decoded (the average member); the medoid (exact up to 2,000 "
    "items, else on a seeded sample of 2,000, said in `notes`); histograms on shared bins and "
    "quantiles of the reconstruction error and of the projection's faithfulness, selection "
    "against whole set; the mean and range of each numeric metadata field and the commonest "
    "values of each text one. Without a decoder there is no average member and no error "
    "distribution (null, said in `notes`). An unknown id is 404 `unknown_item`, an empty "
    "list 422 `empty_selection`.",
)
async def describe_selection_stats(
    m: ModelDep, worker: WorkerDep, body: SelectionIn
) -> SelectionStatsOut:
    stats = await describe_selection(worker, m, body.ids, body.projection)
    fields = asdict(stats)
    for computed in ("mean_latent", "average_member"):
        del fields[computed]
    return SelectionStatsOut(
        model=m.name,
        mean_latent=stats.mean_latent.tolist(),
        average_member=image_out(stats.average_member),
        **fields,
    )

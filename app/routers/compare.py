from __future__ import annotations

from dataclasses import asdict

import numpy as np
from fastapi import APIRouter, Query

from app.deps import ModelDep, StoreDep
from app.errors import API_ERRORS, error_responses
from app.schemas import (
    AlignmentOut,
    ChangedItemOut,
    ComparableOut,
    CompareOut,
    CompareTableOut,
    NeighbourhoodChangeOut,
    TableRowOut,
)
from app.services.compare import comparable_models, compare_models_table
from app.services.compare import compare_models as compare_service
from app.services.compare_change import KNN, align_models, change_models, most_changed
from models.errors import InvalidInputError

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


MAX_MODELS = 12  # a grid of maps past this many is no longer readable


@router.get(
    "/compare/table",
    summary="Every quality figure of several models on the same items, one value per model",
    description="`models` is a comma-separated list of 1 to 12 models that index the same "
    "items (as `GET /api/compare` checks for two; otherwise 409 `not_comparable`). Each row is "
    "one figure with a value per model, null where a model lacks it.",
    responses=error_responses(409),
)
async def compare_table(
    store: StoreDep,
    models: str = Query(
        min_length=1, max_length=2600, description="model names, comma-separated, e.g. `a,b,c`"
    ),
) -> CompareTableOut:
    names = [name.strip() for name in models.split(",")]
    if not 1 <= len(names) <= MAX_MODELS or not all(names):
        raise InvalidInputError(
            f"models must name 1 to {MAX_MODELS} models, comma-separated, none empty; "
            f"got {len(names)} name(s)",
            code="invalid_input",
        )
    table = compare_models_table(store, names)
    return CompareTableOut(
        models=table.models,
        n_items=table.n_items,
        figures=[TableRowOut(**asdict(row)) for row in table.rows],
    )


@router.get(
    "/compare/align",
    summary="A model's map aligned onto the reference model's (Procrustes with scaling)",
    description="The translation, rotation or reflection and uniform scale that put `model`'s "
    "positions of `projection` closest, in least squares, to `reference`'s positions of the "
    "same items, and every item's aligned position. 409 `not_comparable` for models on other "
    "items; 422 `unknown_projection` when either model lacks the projection.",
    responses=error_responses(409),
)
def align_map(  # a plain def: FastAPI runs it, and every item's position, off the event loop
    store: StoreDep,
    reference: str = Query(min_length=1, max_length=200, description="the reference model"),
    model: str = Query(min_length=1, max_length=200, description="the model to align to it"),
    projection: str = Query(min_length=1, max_length=40, description="a projection both have"),
) -> AlignmentOut:
    found = align_models(store, reference, model, projection)
    (r00, r01), (r10, r11) = found.rotation.tolist()
    tx, ty = found.translation.tolist()
    return AlignmentOut(
        reference=reference,
        model=model,
        projection=projection,
        n_items=len(found.aligned),
        scale=found.scale,
        rotation=((r00, r01), (r10, r11)),
        translation=(tx, ty),
        reflected=found.reflected,
        rms=found.rms,
        disparity=found.disparity,
        x=found.aligned[:, 0].tolist(),
        y=found.aligned[:, 1].tolist(),
    )


@router.get(
    "/compare/change",
    summary="How much each item's latent neighbourhood changed from the reference model",
    description=f"Per item, the share of its {KNN} nearest latent neighbours in `reference` "
    f"that are not among its {KNN} nearest in `model`, and the `top` items that changed most. "
    "Found with each model's neighbour search on first request (seconds at tens of thousands "
    "of items), then answered from memory. 409 `not_comparable` for models on other items.",
    responses=error_responses(409),
)
async def neighbourhood_change(
    store: StoreDep,
    reference: str = Query(min_length=1, max_length=200, description="the reference model"),
    model: str = Query(min_length=1, max_length=200, description="the model compared to it"),
    top: int = Query(20, ge=1, le=500, description="how many most-changed items to list"),
) -> NeighbourhoodChangeOut:
    change = await change_models(store, reference, model)
    ids = most_changed(change, top)
    return NeighbourhoodChangeOut(
        reference=reference,
        model=model,
        k=KNN,
        n_items=len(change),
        mean=float(change.mean()),
        change=np.round(change, 4).tolist(),
        most_changed=[ChangedItemOut(id=int(i), change=round(float(change[i]), 4)) for i in ids],
    )

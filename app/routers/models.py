from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app.deps import ExplorerDep, ModelDep
from app.schemas import ModelOut, ModelsOut
from app.services.errors import NotFoundError
from app.services.explorer import Explorer
from app.services.loaded import LoadedModel

router = APIRouter(prefix="/api/models", tags=["models"])

PNG = {"content": {"image/png": {}}, "description": "PNG image"}


def model_out(m: LoadedModel) -> ModelOut:
    index = m.index
    return ModelOut(
        name=m.name,
        architecture=m.info.architecture,
        dataset={k: v for k, v in m.info.dataset.items() if k != "data_dir"},
        latent_dim=m.latent_dim,
        image_shape=m.image_shape,
        n_items=len(index),
        quality=index.quality,
        projections=list(index.projections),
        label_field=index.label_field,
        label_names=list(index.label_names),
        metadata_fields={
            k: "category" if v.dtype.kind in "US" else "number" for k, v in index.metadata.items()
        },
        latent_std=index.latents.std(0).astype(float).tolist(),
    )


def parse_id(m: LoadedModel, item_id: str) -> int:
    """Ids in paths are row numbers; anything else (``..``, long strings) is simply not found.

    ASCII digits only: ``str.isdigit`` also accepts characters such as ``²`` that ``int``
    cannot parse.
    """
    if not (item_id.isascii() and item_id.isdigit() and len(item_id) <= 12):
        shown = item_id if len(item_id) <= 40 else item_id[:37] + "..."
        raise NotFoundError(
            f"model {m.name!r} has no item {shown!r}: ids run from 0 to {len(m.index) - 1}",
            code="unknown_item",
        )
    return int(item_id)


@router.get("", summary="Loaded models with their dataset, sizes and quality figures")
async def list_models(explorer: ExplorerDep) -> ModelsOut:
    return ModelsOut(models=[model_out(m) for m in explorer.store.models.values()])


@router.get("/{model}", summary="One loaded model")
async def get_model(m: ModelDep) -> ModelOut:
    return model_out(m)


@router.get(
    "/{model}/points",
    summary="Every item's 2D position, id, label and metadata as columnar arrays",
    description="Columns: `x`, `y`, `labels` (indices into `label_names`), `names`, "
    "`reconstruction_error`, and `metadata` (categories as codes + categories, numbers as "
    "values). Item ids are the row numbers.",
    responses={200: {"content": {"application/json": {}}}},
)
async def get_points(
    m: ModelDep,
    explorer: ExplorerDep,
    projection: str | None = Query(None, max_length=32, description="umap or pca"),
) -> Response:
    return Response(explorer.points_json(m, projection), media_type="application/json")


@router.get(
    "/{model}/items/{item_id}/image",
    summary="A dataset item's image (PNG)",
    response_class=Response,
    responses={200: PNG},
)
async def get_item_image(m: ModelDep, explorer: ExplorerDep, item_id: str) -> Response:
    return item_png_response(m, explorer, item_id)


@router.get(
    "/{model}/items/{item_id}/thumbnail",
    summary="A dataset item's thumbnail (PNG; the image at model size)",
    response_class=Response,
    responses={200: PNG},
)
async def get_item_thumbnail(m: ModelDep, explorer: ExplorerDep, item_id: str) -> Response:
    return item_png_response(m, explorer, item_id)


def item_png_response(m: LoadedModel, explorer: Explorer, item_id: str) -> Response:
    # Items never change while the server runs: let the browser keep them for an hour.
    png = explorer.item_png(m, parse_id(m, item_id))
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

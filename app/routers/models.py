from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS
from app.schemas import ItemOut, ModelOut, ModelsOut, NamesOut
from app.services.errors import NotFoundError
from app.services.explorer import Explorer
from app.services.loaded import LoadedModel

router = APIRouter(prefix="/api/models", tags=["models"], responses=API_ERRORS)

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
        default_projection=Explorer.projection_name(m, None),
        label_field=index.label_field,
        label_names=list(index.label_names),
        metadata_fields={
            k: "category" if v.dtype.kind in "US" else "number" for k, v in index.metadata.items()
        },
        latent_std=index.latents.std(0).astype(float).tolist(),
        can_encode=m.can_encode,
        can_decode=m.can_decode,
        has_images=m.has_images,
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


POINTS_DESCRIPTION = """Every item's map position, label and metadata as columns; item ids are the
row numbers.

`format=json` (default): `x`, `y`, `labels` (indices into `label_names`), `names`,
`reconstruction_error`, `faithfulness` (of this projection, see below), and `metadata`
(categories as `codes` + `categories`, numbers as `values`); floats rounded to 5 decimals.

`format=binary` (`application/octet-stream`), what the page loads: bytes 0-3 `LEXP`, bytes 4-7
a little-endian uint32 `H`, then `H` bytes of JSON header (padded with spaces so the columns
start on an 8-byte boundary), then the columns, little-endian, each at the byte `offset` the
header gives (from the start of the body, a multiple of 8), `count` values of its `dtype`:
`x`, `y` float32; `order` uint32 (item ids in drawing priority, a seeded random permutation);
`labels` (absent without labels) and category codes `metadata/<field>` as the smallest of
uint8, int16, int32 that holds them; `reconstruction_error`, `faithfulness` and numeric
`metadata/<field>` float32. `faithfulness` is per item and projection: the share of the item's
10 nearest latent neighbours that are also among its 10 nearest on this map (1: kept; low:
the map tears the neighbourhood apart). The header also holds `count`, `projection`,
`label_field`, `label_names` and `metadata` (each field's type and categories). Names are left
out: see `GET .../names`.

Both forms are serialised once per model and projection and then served from memory."""


@router.get(
    "/{model}/points",
    summary="Every item's 2D position, id, label and metadata as columnar arrays",
    description=POINTS_DESCRIPTION,
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "JSON columns, or the binary form with `format=binary`",
        }
    },
)
async def get_points(
    m: ModelDep,
    explorer: ExplorerDep,
    projection: str | None = Query(None, max_length=32, description="umap or pca"),
    format_: Literal["json", "binary"] = Query(
        "json", alias="format", description="`json` (default) or `binary` (see above)"
    ),
) -> Response:
    # The first request serialises (seconds at a million points): off the event loop.
    if format_ == "binary":
        body = await run_in_threadpool(explorer.points_binary, m, projection)
        return Response(body, media_type="application/octet-stream")
    body = await run_in_threadpool(explorer.points_json, m, projection)
    return Response(body, media_type="application/json")


@router.get(
    "/{model}/names",
    summary="Every item's name, in id order (the binary points form leaves names out)",
    response_class=Response,
    responses={200: {"model": NamesOut, "description": "names; ids are the positions"}},
)
async def get_names(m: ModelDep, explorer: ExplorerDep) -> Response:
    body = await run_in_threadpool(explorer.names_json, m)
    return Response(body, media_type="application/json")


@router.get("/{model}/items/{item_id}", summary="One dataset item's name, label and metadata")
async def get_item(m: ModelDep, explorer: ExplorerDep, item_id: str) -> ItemOut:
    return ItemOut(**asdict(explorer.item_facts(m, parse_id(m, item_id))))


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

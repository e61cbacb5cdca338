from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from app.deps import ExplorerDep, ItemIdPath, ModelDep
from app.errors import API_ERRORS
from app.schemas import ItemOut, ModelOut, ModelsOut, NamesOut, ThumbnailsOut
from app.services import items
from app.services.model_facts import describe_model, describe_models

router = APIRouter(prefix="/api/models", tags=["models"], responses=API_ERRORS)

PNG = {"content": {"image/png": {}}, "description": "PNG image"}


@router.get("", summary="Loaded models with their dataset, sizes and quality figures")
async def list_models(explorer: ExplorerDep) -> ModelsOut:
    return ModelsOut(models=[ModelOut(**asdict(f)) for f in describe_models(explorer)])


@router.get("/{model}", summary="One loaded model")
async def get_model(m: ModelDep) -> ModelOut:
    return ModelOut(**asdict(describe_model(m)))


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
    projection: str | None = Query(
        None,
        max_length=32,
        description="one of the model's `projections` (e.g. umap, pca); default: its "
        "`default_projection`",
    ),
    points_format: Literal["json", "binary"] = Query(
        "json", alias="format", description="`json` (default) or `binary` (see above)"
    ),
) -> Response:
    # The first request serialises (seconds at a million points): off the event loop.
    body = await run_in_threadpool(items.map_points, m, projection, points_format)
    media_type = "application/octet-stream" if points_format == "binary" else "application/json"
    return Response(body, media_type=media_type)


@router.get(
    "/{model}/names",
    summary="Every item's name, in id order (the binary points form leaves names out)",
    response_class=Response,
    responses={200: {"model": NamesOut, "description": "names; ids are the positions"}},
)
async def get_names(m: ModelDep) -> Response:
    body = await run_in_threadpool(items.item_names, m)
    return Response(body, media_type="application/json")


@router.get(
    "/{model}/latents",
    summary="Every item's latent vector, in id order, as raw float32",
    description="The body is N x latent_dim float32 values, little-endian, row-major (item 0's "
    "latent first); N is the model's `n_items` and latent_dim its `latent_dim` (also in the "
    "`X-Items` and `X-Latent-Dim` headers). The page's exports add it to each row on request.",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "latents"}},
)
async def get_latents(m: ModelDep) -> Response:
    body = await run_in_threadpool(items.item_latents, m)
    headers = {"X-Items": str(len(m.index)), "X-Latent-Dim": str(m.latent_dim)}
    return Response(body, media_type="application/octet-stream", headers=headers)


@router.get("/{model}/items/{item_id}", summary="One dataset item's name, label and metadata")
async def get_item(m: ModelDep, item_id: ItemIdPath) -> ItemOut:
    return ItemOut(**asdict(items.describe_item(m, item_id)))


# Items never change while the server runs: let the browser keep them for an hour.
IMAGE_CACHING = {"Cache-Control": "max-age=3600"}


@router.get(
    "/{model}/items/{item_id}/image",
    summary="A dataset item's image (PNG)",
    response_class=Response,
    responses={200: PNG},
)
async def get_item_image(m: ModelDep, item_id: ItemIdPath) -> Response:
    png = items.item_png(m, item_id)
    return Response(png, media_type="image/png", headers=IMAGE_CACHING)


@router.get(
    "/{model}/items/{item_id}/thumbnail",
    summary="A dataset item's thumbnail (PNG; the image at model size)",
    response_class=Response,
    responses={200: PNG},
)
async def get_item_thumbnail(m: ModelDep, item_id: ItemIdPath) -> Response:
    png = items.item_png(m, item_id)
    return Response(png, media_type="image/png", headers=IMAGE_CACHING)


@router.get(
    "/{model}/thumbnails",
    summary="Many items' thumbnails in one request (PNG data URLs), for the map's images",
    description="The stored images of the items in `ids`, in the order given, each a PNG data "
    "URL: what the page draws in place of the map's dots once fewer than about 300 are in "
    f"view, and its exemplar layer. At most {items.MAX_THUMBNAILS} ids; 422 `bad_ids` for a "
    "list that is empty, too long or not whole numbers, 404 `unknown_item` for an id the "
    "model lacks, 404 `no_images` for an entry that stores no images.",
)
async def get_thumbnails(
    m: ModelDep,
    ids: str = Query(
        min_length=1,
        max_length=13 * items.MAX_THUMBNAILS,
        pattern="^[0-9]+(,[0-9]+)*$",
        description=f"item ids separated by commas, e.g. `3,17,40` (1 to {items.MAX_THUMBNAILS})",
    ),
) -> Response:
    wanted = items.parse_ids(m, ids)
    images = await run_in_threadpool(items.item_thumbnails, m, wanted)
    body = ThumbnailsOut(model=m.name, ids=wanted, images=images).model_dump_json()
    return Response(body, media_type="application/json", headers=IMAGE_CACHING)

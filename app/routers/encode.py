from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from app.convert import encoded_out
from app.deps import ModelDep, SettingsDep, WorkerDep
from app.errors import API_ERRORS, error_responses
from app.schemas import EncodeOut
from app.services.uploads import Upload, encode_uploads

router = APIRouter(prefix="/api/models", tags=["encode"], responses=API_ERRORS)


@router.post(
    "/{model}/encode",
    summary="Encode uploaded images: latent, map positions, reconstruction, anomaly score, "
    "neighbours",
    description="Multipart form with one or more `file` parts (PNG, JPEG, GIF, WebP or BMP). "
    "Images are EXIF-rotated, composited on the training background, converted to the model's "
    "channels and resized. A position is stable: the same image always lands on the same spot. "
    "A model without a decoder answers without a reconstruction (its error and score null) and "
    "with the nearest item's image; precomputed embeddings (no encoder) answer 409 `no_encoder`.",
    responses=error_responses(409, 415),
)
async def encode_images(
    m: ModelDep,
    worker: WorkerDep,
    settings: SettingsDep,
    file: Annotated[
        list[UploadFile],
        File(
            description="image files: one or more (at most the server's max_batch_images)",
            json_schema_extra={"minItems": 1},
        ),
    ],
    k: Annotated[
        int,
        Query(
            description="neighbours to return per image (0 to 1000, and at most the model's "
            "`n_items`)",
            json_schema_extra={"minimum": 0, "maximum": 1000},
        ),
    ] = 8,
) -> EncodeOut:
    uploads = [Upload(await f.read(), f.filename) for f in file]
    encoded = await encode_uploads(
        worker,
        m,
        uploads,
        k,
        max_images=settings.max_batch_images,
        max_pixels=settings.max_image_pixels,
    )
    return EncodeOut(items=[encoded_out(e) for e in encoded])

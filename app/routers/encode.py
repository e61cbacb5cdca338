from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from app.deps import ExplorerDep, ModelDep, SettingsDep
from app.errors import API_ERRORS, error_responses
from app.routers.convert import image_out, nearest_out, neighbours_out
from app.schemas import EncodedOut, EncodeOut
from app.services.errors import InvalidInputError
from app.services.images import png_data_url

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
    explorer: ExplorerDep,
    settings: SettingsDep,
    file: Annotated[list[UploadFile], File(description="image files")],
    k: Annotated[int, Query(description="neighbours to return per image (0 to 1000)")] = 8,
) -> EncodeOut:
    if len(file) > settings.max_batch_images:
        raise InvalidInputError(
            f"{len(file)} images in one request; the limit is {settings.max_batch_images}",
            code="too_many_images",
        )
    items = []
    for upload in file:
        data = await upload.read()
        result = await explorer.encode_upload(m, data, k, upload.filename)
        assert result.input_image is not None
        items.append(
            EncodedOut(
                latent=result.latent.tolist(),
                positions=result.positions,
                image=image_out(result.image),
                neighbours=neighbours_out(result.neighbours),
                **nearest_out(result),
                reconstruction_error=result.reconstruction_error,
                error_percentile=result.error_percentile,
                input=png_data_url(result.input_image),
                filename=upload.filename,
            )
        )
    return EncodeOut(items=items)

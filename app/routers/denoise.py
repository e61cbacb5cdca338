from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, Form, UploadFile

from app.deps import SettingsDep, StoreDep, WorkerDep
from app.errors import API_ERRORS, error_responses
from app.schemas import DenoiseImageOut, DenoiseOut
from app.services.denoise import DenoiseRequest, denoise
from app.services.images import png_data_url
from models.objectives.corrupt import KINDS

router = APIRouter(prefix="/api", tags=["denoise"], responses=API_ERRORS)

NAME = {"min_length": 1, "max_length": 200}
KIND_ENUM: dict[str, Any] = {"enum": list(KINDS)}


@router.post(
    "/denoise",
    summary="The denoising demo: corrupt an image with seeded noise, then denoise it with a "
    "dae and with a plain AE, each with its PSNR",
    description="Multipart form. The image is an item (`item`, an id of `model`'s items, which "
    "must be the dae's items too) or an upload (`file`), exactly one. The noise is one the dae "
    "trains with (`kind` gaussian, saltpepper or mask; `level` 0 to 1), drawn from `seed`: the "
    "same request answers the same images. `dae` and `ae` default to the first loaded model of "
    "each kind on the items of `model` (or of each other); without one, 409 `no_dae` or `no_ae` "
    "names what to train. Every image is 8-bit, and each PSNR is computed on the returned "
    "pixels against `clean`.",
    responses=error_responses(409, 413, 415),
)
async def post_denoise(
    store: StoreDep,
    worker: WorkerDep,
    settings: SettingsDep,
    kind: Annotated[
        str, Form(max_length=40, description="the noise kind", json_schema_extra=KIND_ENUM)
    ] = "gaussian",
    level: Annotated[
        float,
        Form(
            ge=0.0,
            le=1.0,
            description="noise level from 0 to 1: the Gaussian's standard deviation, or the "
            "fraction of pixels hit",
        ),
    ] = 0.3,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1, description="the noise's seed")] = 0,
    # Read as text, like an item id in a path: anything but an id answers 404 unknown_item.
    item: Annotated[
        str | None, Form(max_length=40, description="an item id of `model` (the dae's)")
    ] = None,
    model: Annotated[
        str | None, Form(**NAME, description="the model the page shows: picks the defaults")
    ] = None,
    dae: Annotated[str | None, Form(**NAME, description="a dae model (default: see above)")] = None,
    ae: Annotated[str | None, Form(**NAME, description="a plain AE (default: see above)")] = None,
    # Typed without None so the document says "binary" rather than "binary or null": a
    # generated "null" would be a text field, which FastAPI refuses as no file.
    file: Annotated[UploadFile, File(description="an image instead of an item")] = None,  # type: ignore[assignment]
) -> DenoiseOut:
    request = DenoiseRequest(
        kind=kind,
        level=level,
        seed=seed,
        item=item,
        upload=await file.read() if file is not None else None,
        filename=file.filename if file is not None else None,
        model=model,
        dae=dae,
        ae=ae,
    )
    done = await denoise(worker, store, request, max_pixels=settings.max_image_pixels)
    return DenoiseOut(
        dae=done.dae,
        ae=done.ae,
        item=done.item,
        kind=done.noise.kind,
        level=done.noise.level,
        seed=done.seed,
        clean=png_data_url(done.clean),
        corrupted=_scored(done.corrupted, done.psnr(done.corrupted)),
        dae_output=_scored(done.dae_output, done.psnr(done.dae_output)),
        ae_output=_scored(done.ae_output, done.psnr(done.ae_output)),
    )


def _scored(image: np.ndarray, db: float) -> DenoiseImageOut:
    return DenoiseImageOut(image=png_data_url(image), psnr=round(db, 4))

"""Uploaded images placed in latent space: latent, map positions, reconstruction, anomaly
score and neighbors. Without a decoder there is no reconstruction (error and score None) and
the image shown is the nearest real item's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.services.anomaly import upload_knn_score
from app.services.images import load_upload
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.nearest import require_encoder
from app.services.placing import place
from app.services.refs import check_k
from app.services.results import Encoded
from models.errors import InvalidInputError


@dataclass
class Upload:
    data: bytes
    filename: str | None = None


async def encode_uploads(
    worker: InferenceWorker,
    m: LoadedModel,
    uploads: list[Upload],
    k: int,
    *,
    max_images: int,
    max_pixels: int,
) -> list[Encoded]:
    """Each upload placed in turn, with ``k`` neighbors; at most ``max_images`` of them."""
    if len(uploads) > max_images:
        raise InvalidInputError(
            f"{len(uploads)} images in one request; the limit is {max_images}",
            code="too_many_images",
        )
    return [await encode_upload(worker, m, u, k, max_pixels=max_pixels) for u in uploads]


async def encode_upload(
    worker: InferenceWorker, m: LoadedModel, upload: Upload, k: int, *, max_pixels: int
) -> Encoded:
    """One upload's latent, positions, reconstruction, anomaly score and neighbors."""
    require_encoder(m)
    check_k(m, k)

    def read_and_encode() -> tuple[np.ndarray, np.ndarray]:
        # Off the event loop: a large JPEG takes milliseconds to decode.
        x = load_upload(
            upload.data,
            image_shape=m.image_shape,
            max_pixels=max_pixels,
            background=m.background,
            filename=upload.filename,
        )  # (C, H, W)
        return x, m.encode(x[None])[0]

    x, latent = await worker.run(read_and_encode)
    placed = await place(worker, m, latent, k)
    error: float | None = None
    percentile: float | None = None
    if placed.nearest is None and placed.image is not None:  # decoded: a reconstruction
        error = float(np.mean((placed.image - x) ** 2))
    sorted_errors = m.sorted_errors()
    if error is not None and sorted_errors is not None:
        rank = np.searchsorted(sorted_errors, error, side="right")
        percentile = float(100.0 * rank / len(sorted_errors))
    return Encoded(
        placed.latent,
        placed.positions,
        placed.image,
        placed.neighbors,
        placed.nearest,
        image_source=placed.image_source,
        from_data=placed.from_data,
        reconstruction_error=error,
        error_percentile=percentile,
        knn_score=upload_knn_score(m, placed.latent),
        input_image=x,
        filename=upload.filename,
    )

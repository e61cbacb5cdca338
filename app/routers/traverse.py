from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from app.deps import ExplorerDep, ModelDep
from app.errors import API_ERRORS, error_responses
from app.routers.convert import ref
from app.schemas import TraverseIn, TraverseOut, TraverseRowOut
from app.services.images import png_data_url
from app.services.nearest import require_decoder
from app.services.traversal import traversal_rows

router = APIRouter(prefix="/api/models", tags=["traverse"], responses=API_ERRORS)


@router.post(
    "/{model}/traverse",
    summary="Traversal grid: vary each latent dimension (or attribute) by -r..+r std devs",
    description="Rows of decoded images around `start`; row r moves along latent dimension r, "
    "or along attribute r when `attributes` is given, by multiples of the dataset's standard "
    "deviation in that direction. A model without a decoder answers 409 `no_decoder`.",
    responses=error_responses(409),
)
async def traverse_latent(m: ModelDep, explorer: ExplorerDep, body: TraverseIn) -> TraverseOut:
    start = explorer.resolve(m, ref(body.start), "start")
    # A grid of the decoder's variations: nearest items would mostly repeat one image.
    require_decoder(m, "a traversal grid (decoded variations around a place)")
    directions = None
    if body.attributes is not None:
        directions = [(a, explorer.attribute(m, a).vector) for a in body.attributes]
    rows = traversal_rows(start, m.index.latents, body.steps, body.radius, directions)
    images = await explorer.decode(m, np.concatenate([row.latents for row in rows]))
    out, first = [], 0
    for row in rows:
        n = len(row.latents)
        out.append(
            TraverseRowOut(
                label=row.label,
                offsets=row.offsets.tolist(),
                images=[png_data_url(im) for im in images[first : first + n]],
            )
        )
        first += n
    return TraverseOut(rows=out)

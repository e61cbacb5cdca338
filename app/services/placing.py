"""A latent placed on the model's maps, with its image: what every operation that lands
somewhere in latent space (a decode, an upload, arithmetic, a path) shows the page."""

from __future__ import annotations

import numpy as np

from app.services.from_data import from_data
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.nearest import Nearest, nearest_items
from app.services.neighbors import search_neighbors
from app.services.results import Placed


def positions(m: LoadedModel, latents: np.ndarray) -> dict[str, np.ndarray]:
    """(B, D) latents -> {projection: (B, 2)}, stable per point."""
    return {name: p.transform(latents) for name, p in m.index.projections.items()}


async def decode(worker: InferenceWorker, m: LoadedModel, latents: np.ndarray) -> np.ndarray:
    """(B, D) -> (B, C, H, W) through the micro-batching worker; always finite."""
    images = await worker.decode(m.name, m.decode, latents)
    return np.nan_to_num(images, nan=0.0, posinf=1.0, neginf=0.0)


async def pictures(
    worker: InferenceWorker,
    m: LoadedModel,
    latents: np.ndarray,
    known: dict[int, int] | None = None,
) -> tuple[np.ndarray | None, Nearest | None]:
    """(B, D) -> their images: decoded, or without a decoder the nearest real items' (and
    which items those are; images None when the entry stores none). ``known``: rows that
    are an item's own latent -> that item (see ``nearest_items``)."""
    if m.can_decode:
        return await decode(worker, m, latents), None
    near = await worker.run(nearest_items, m, latents, known)
    return near.images, near


async def place(
    worker: InferenceWorker,
    m: LoadedModel,
    latent: np.ndarray,
    k: int = 0,
    metric: str = "euclidean",
    item: int | None = None,
) -> Placed:
    """(D,) latent -> its positions, image and ``k`` neighbors. ``item``: the dataset item
    whose own latent this is, if any."""
    known = None if item is None else {0: item}
    images, nearest = await pictures(worker, m, latent[None], known)
    where = {n: (float(p[0, 0]), float(p[0, 1])) for n, p in positions(m, latent[None]).items()}
    near = search_neighbors(m, latent, k, metric) if k else None
    image = None if images is None else images[0]
    far = from_data(m, latent[None])
    return Placed(
        latent,
        where,
        image,
        near,
        nearest,
        image_source=m.decoded_source,
        from_data=None if far is None else far[0],
    )

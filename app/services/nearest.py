"""Nearest real images: what the explorer shows where a model has no decoder.

A model without a decoder (precomputed embeddings, an encoder-only model) cannot turn a latent
into an image. Clicks, drags, interpolation paths and arithmetic results then show the stored
image of the dataset item nearest to each latent (euclidean, over the index latents, exact or
approximate as the model's neighbour search is; one batched query for a whole path) and name
that item. Embeddings imported without images have no picture to show: the item is still named.

The capability checks live here too, so every endpoint words them alike: 409 ``no_encoder``
(an upload to precomputed embeddings), 409 ``no_decoder`` (a request that is only about decoded
images) and 404 ``no_images`` (an item image of an entry that stores none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from app.services.loaded import LoadedModel
from models.errors import ConflictError, NotFoundError


@dataclass
class Nearest:
    """The nearest dataset item to each of B latents."""

    ids: np.ndarray  # (B,) int64
    names: list[str]
    images: np.ndarray | None  # (B, C, H, W) uint8, the items' stored images; None: none stored


@dataclass
class NearestFrame:
    """A drag frame without a decoder: the latent under the pointer and its nearest item."""

    latent: np.ndarray  # (D,)
    nearest_id: int
    nearest_name: str
    image: np.ndarray | None  # (C, H, W) uint8, the item's stored image; None: none stored


def nearest_items(
    m: LoadedModel, latents: np.ndarray, known: Mapping[int, int] | None = None
) -> Nearest:
    """(B, D) latents -> the nearest item of each, in one batched query.

    ``known`` maps rows that *are* an item's own latent (a click on item 40, a path starting at
    it) to that item: a search could answer with an earlier item of the same vector (exact
    duplicates are common in real embedding sets), and the user asked for this one.

    Synchronous: callers run it on the inference worker, since an exact query over a million
    latents takes milliseconds per row and must not hold the event loop.
    """
    ids, _ = m.neighbor_index("euclidean").query(np.asarray(latents, np.float32), 1)  # (B, 1)
    first = ids[:, 0].astype(np.int64)
    for row, item in (known or {}).items():
        first[row] = item
    names = [str(name) for name in m.index.item_names[first]]
    # Fancy indexing copies the rows out of the memory-mapped images file.
    images = None if m.index.images is None else np.asarray(m.index.images[first])
    return Nearest(first, names, images)


def nearest_frame(m: LoadedModel, projection: str, xy: np.ndarray) -> NearestFrame:
    """2D point -> latent (the inverse map) -> nearest item and its image: what
    ``app.services.drag.decoded_frame`` does with a decoder, in one call on the inference
    thread (the caller encodes the image elsewhere)."""
    latent = m.index.inverses[projection].transform(xy[None])  # (1, D)
    near = nearest_items(m, latent)
    image = None if near.images is None else near.images[0]
    return NearestFrame(latent[0], int(near.ids[0]), near.names[0], image)


def _what(m: LoadedModel, part: str) -> str:
    if m.model.stored_latents:
        return f"is precomputed embeddings (no {part})"
    return f"has no {part}"


def require_encoder(m: LoadedModel) -> None:
    """409 ``no_encoder`` unless ``m`` can encode images."""
    if m.can_encode:
        return
    raise ConflictError(
        f"model {m.name!r} {_what(m, 'encoder')}: an uploaded image cannot be placed on its "
        f"map. What works: its maps, neighbours of its items (POST /api/models/{m.name}/"
        "neighbors with an id), and interpolation and arithmetic between its items",
        code="no_encoder",
    )


def require_decoder(m: LoadedModel, what: str) -> None:
    """409 ``no_decoder`` unless ``m`` can decode; ``what`` names the decoded thing asked for."""
    if m.can_decode:
        return
    raise ConflictError(
        f"model {m.name!r} {_what(m, 'decoder')}, so {what} cannot be made. Clicks (decode "
        "with a point or an id), drags, interpolation paths and arithmetic answer with the "
        f"nearest real item's image instead, and POST /api/models/{m.name}/neighbors finds the "
        "items nearest a latent",
        code="no_decoder",
    )


def require_images(m: LoadedModel) -> np.ndarray:
    """The items' stored images (N, C, H, W) uint8; 404 ``no_images`` when there are none."""
    if m.index.images is not None:
        return m.index.images
    raise NotFoundError(
        f"model {m.name!r} has no item images: its embeddings were imported without images. "
        f"GET /api/models/{m.name}/items/{{id}} gives an item's name and metadata",
        code="no_images",
    )

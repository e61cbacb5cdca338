"""A model's items as the page reads them: every point of a map, every name, one item's
facts and image. The serialised forms are made once per model and kept on it."""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.services.images import png_bytes, png_data_url_from_png
from app.services.loaded import LoadedModel
from app.services.nearest import require_images
from app.services.points import ItemFacts, item_facts
from app.services.refs import item, parse_item, projection_name
from models.errors import InvalidInputError

PointsFormat = Literal["json", "binary"]

# Most thumbnails in one request: the map draws them only while fewer than about 300 items are
# in view (static/js/thumbs.js), plus a few dozen exemplars; a longer list is a mistake.
MAX_THUMBNAILS = 500


def map_points(m: LoadedModel, projection: str | None, points_format: PointsFormat) -> bytes:
    """Every item's position on ``projection`` (the default for None), label and metadata,
    as columnar JSON or the binary form (app/services/points.py)."""
    name = projection_name(m, projection)
    return m.points_binary(name) if points_format == "binary" else m.points_json(name)


def item_names(m: LoadedModel) -> bytes:
    """Every item's name, in id order, as JSON ``{"count": N, "names": [...]}``."""
    return m.names_json()


def item_latents(m: LoadedModel) -> bytes:
    """Every item's latent, in id order: (N, D) float32, little-endian, row-major. Not cached:
    it is a copy of the index's own array, made when an export asks for it."""
    return np.ascontiguousarray(m.index.latents, dtype="<f4").tobytes()


def describe_item(m: LoadedModel, item_id: str) -> ItemFacts:
    """One item's name, label, reconstruction error, metadata and map positions."""
    return item_facts(m.index, parse_item(m, item_id))


def item_png(m: LoadedModel, item_id: str) -> bytes:
    """One item's stored image as PNG; 404 ``no_images`` when the entry stores none."""
    item = parse_item(m, item_id)
    return png_bytes(require_images(m)[item])


def parse_ids(m: LoadedModel, text: str) -> list[int]:
    """Comma-separated item ids (``3,17,40``): 422 ``bad_ids`` unless 1 to MAX_THUMBNAILS
    ASCII integers, 404 ``unknown_item`` for an id the model does not have."""
    parts = text.split(",")
    if len(parts) > MAX_THUMBNAILS:
        raise InvalidInputError(
            f"ids lists {len(parts)} items; at most {MAX_THUMBNAILS} per request",
            code="bad_ids",
        )
    if not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts):
        raise InvalidInputError(
            "ids must be item ids (whole numbers from 0) separated by commas, e.g. ids=3,17,40",
            code="bad_ids",
        )
    return [item(m, int(p)) for p in parts]


def item_thumbnails(m: LoadedModel, ids: list[int]) -> list[str]:
    """The stored images of items ``ids`` (in that order) as PNG data URLs: what the map draws
    in place of its dots, many in one request. 404 ``no_images`` when the entry stores none."""
    stored = require_images(m)
    # One sorted read of the (possibly memory-mapped) images, then back to the asked order.
    wanted = np.asarray(ids, dtype=np.int64)
    unique, back = np.unique(wanted, return_inverse=True)
    pixels = np.asarray(stored[unique])  # (U, C, H, W) uint8
    pngs = [png_data_url_from_png(png_bytes(image)) for image in pixels]
    return [pngs[i] for i in back.ravel()]

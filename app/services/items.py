"""A model's items as the page reads them: every point of a map, every name, one item's
facts and image. The serialised forms are made once per model and kept on it."""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.services.images import png_bytes
from app.services.loaded import LoadedModel
from app.services.nearest import require_images
from app.services.points import ItemFacts, item_facts
from app.services.refs import parse_item, projection_name

PointsFormat = Literal["json", "binary"]


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

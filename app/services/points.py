"""Every item's place on a map, as the page loads it: columnar JSON, or a compact binary form.

The binary form (``GET /api/models/{m}/points?format=binary``, ``application/octet-stream``)
is what the page reads: its columns become JavaScript typed arrays over the one response
buffer without copying or parsing, so a million points load in a fraction of a second. Layout,
every number little-endian::

    bytes 0-3      b"LEXP" (magic)
    bytes 4-7      uint32 H: the length of the JSON header in bytes
    bytes 8-8+H    the header, UTF-8 JSON, padded with spaces so 8 + H is a multiple of 8
    then           the columns, each starting at its "offset" (counted from byte 0 of the body,
                   always a multiple of 8), "count" values of its "dtype", zero padding between

The header holds ``format``, ``version``, ``model``, ``projection``, ``count``, ``byte_order``,
``label_field``, ``label_names``, ``metadata`` (field -> ``{"type": "category", "categories":
[...]}`` or ``{"type": "number"}``), ``draw_order_seed`` and ``columns``: a list of
``{"name", "dtype", "offset", "count"}``. Columns, in this order:

    x, y                    float32   map position (the JSON form rounds to 5 decimals)
    order                   uint32    item ids in drawing priority: a seeded random permutation,
                                      the same for every projection; a page that draws only
                                      some points draws the first ones that are in view
    labels                  uint8 | int16 | int32, the smallest that holds every label index
                            (indices into label_names); absent when the dataset has no labels
    reconstruction_error    float32; absent when the model has no decoder
    faithfulness            float32 in [0, 1], of this projection: the share of the item's 10
                            nearest latent neighbours that are among its 10 nearest on this
                            map (app/index/faithfulness.py); absent for an index without it
    metadata/<field>        float32 for numbers; category codes (indices into the field's
                            categories) as uint8 | int16 | int32, the smallest that holds them

Item names are not in the binary form (at a million items they would outweigh the rest):
``GET /api/models/{m}/names`` lists them, ``GET /api/models/{m}/items/{id}`` gives one.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.store import LatentIndex

MAGIC = b"LEXP"
FORMAT = "latent-explorer-points"
VERSION = 1
ALIGN = 8  # every column starts on an 8-byte boundary: any typed array can view it in place
DRAW_ORDER_SEED = 0


@dataclass
class ItemFacts:
    """What the map knows about one item, names included."""

    id: int
    name: str
    label_field: str | None
    label: str | None
    reconstruction_error: float | None  # None: the model has no decoder
    metadata: dict[str, str | float | None]  # None: a missing number (NaN)
    positions: dict[str, tuple[float, float]]


def _cell(column: np.ndarray, i: int) -> str | float | None:
    """One metadata value as JSON can hold it: text, a number, or None for a missing number."""
    if column.dtype.kind in "US":
        return str(column[i])
    value = float(column[i])
    return value if np.isfinite(value) else None


def item_facts(index: LatentIndex, i: int) -> ItemFacts:
    """The facts of item ``i`` (a valid row number)."""
    label = None
    if index.labels is not None and 0 <= index.labels[i] < len(index.label_names):
        label = index.label_names[int(index.labels[i])]
    return ItemFacts(
        id=i,
        name=str(index.item_names[i]),
        label_field=index.label_field,
        label=label,
        reconstruction_error=float(index.errors[i]) if index.errors is not None else None,
        metadata={key: _cell(column, i) for key, column in index.metadata.items()},
        positions={
            name: (float(p.embedding_[i, 0]), float(p.embedding_[i, 1]))
            for name, p in index.projections.items()
        },
    )


def draw_order(n: int, seed: int = DRAW_ORDER_SEED) -> np.ndarray:
    """(n,) uint32: item ids in a seeded random order, so that any prefix is an unbiased sample
    and a sample drawn at one zoom level is kept (and added to) at the next."""
    return np.random.default_rng(seed).permutation(n).astype(np.uint32)


def smallest_int(values: np.ndarray) -> np.ndarray:
    """Integers as uint8, int16 or int32: the first that holds every value."""
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in (np.uint8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return values.astype(dtype)
    raise ValueError(f"integer column out of int32 range: {lo}..{hi}")


def category_codes(column: np.ndarray) -> tuple[list[str], np.ndarray]:
    """A text column as (sorted categories, (N,) int64 codes into them)."""
    categories, codes = np.unique(column, return_inverse=True)
    return categories.tolist(), codes.reshape(-1)


def json_floats(column: np.ndarray, decimals: int) -> list[float | None]:
    """Rounded floats with None (JSON null) for NaN and infinities, which JSON cannot hold
    (numeric metadata has gaps where a folder's metadata.csv has no row for an image)."""
    values = np.round(column.astype(np.float64), decimals)
    finite = np.isfinite(values)
    out: list[float | None] = values.tolist()
    if not finite.all():
        for i in np.flatnonzero(~finite):
            out[i] = None
    return out


def points_json(index: LatentIndex, model: str, projection: str) -> bytes:
    """All points of a projection as compact columnar JSON (floats rounded to keep it small)."""
    xy = index.projections[projection].embedding_
    metadata: dict[str, Any] = {}
    for key, column in index.metadata.items():
        if column.dtype.kind in "US":
            categories, codes = category_codes(column)
            metadata[key] = {"type": "category", "categories": categories, "codes": codes.tolist()}
        else:
            metadata[key] = {
                "type": "number",
                "values": json_floats(column, 5),
            }
    body = {
        "model": model,
        "projection": projection,
        "count": len(index),
        "x": np.round(xy[:, 0].astype(np.float64), 5).tolist(),
        "y": np.round(xy[:, 1].astype(np.float64), 5).tolist(),
        "label_field": index.label_field,
        "label_names": list(index.label_names),
        "labels": index.labels.tolist() if index.labels is not None else None,
        "names": index.item_names.tolist(),
        "reconstruction_error": (
            np.round(index.errors.astype(np.float64), 6).tolist()
            if index.errors is not None
            else None
        ),
        "faithfulness": (
            np.round(index.faithfulness[projection].astype(np.float64), 5).tolist()
            if projection in index.faithfulness
            else None
        ),
        "metadata": metadata,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def points_binary(index: LatentIndex, model: str, projection: str, order: np.ndarray) -> bytes:
    """All points of a projection in the binary form described in this module's docstring."""
    xy = index.projections[projection].embedding_
    columns: list[tuple[str, np.ndarray]] = [
        ("x", xy[:, 0].astype("<f4")),
        ("y", xy[:, 1].astype("<f4")),
        ("order", order.astype("<u4")),
    ]
    if index.labels is not None:
        columns.append(("labels", smallest_int(index.labels)))
    if index.errors is not None:
        columns.append(("reconstruction_error", index.errors.astype("<f4")))
    if projection in index.faithfulness:
        columns.append(("faithfulness", index.faithfulness[projection].astype("<f4")))
    metadata: dict[str, Any] = {}
    for key, column in index.metadata.items():
        if column.dtype.kind in "US":
            categories, codes = category_codes(column)
            metadata[key] = {"type": "category", "categories": categories}
            columns.append((f"metadata/{key}", smallest_int(codes)))
        else:
            metadata[key] = {"type": "number"}
            columns.append((f"metadata/{key}", column.astype("<f4")))
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": model,
        "projection": projection,
        "count": len(index),
        "byte_order": "little",
        "label_field": index.label_field,
        "label_names": list(index.label_names),
        "metadata": metadata,
        "draw_order_seed": DRAW_ORDER_SEED,
        "columns": [],
    }
    # Column offsets count from the start of the body, and the header that lists them comes
    # first: lay the columns out after a guessed header size until the guess holds (the
    # offsets' digits are all that can change, so this settles in two or three rounds).
    little = [values.astype(values.dtype.newbyteorder("<"), copy=False) for _, values in columns]
    start = 0
    while True:
        offsets, end = [], start
        for values in little:
            offsets.append(end)
            end = _aligned(end + values.nbytes)
        specs = [
            {"name": name, "dtype": values.dtype.name, "offset": offset, "count": len(values)}
            for (name, _), values, offset in zip(columns, little, offsets, strict=True)
        ]
        text = json.dumps(header | {"columns": specs}, separators=(",", ":")).encode()
        if _aligned(8 + len(text)) == start:
            break
        start = _aligned(8 + len(text))
    out = bytearray(end)
    out[0:8] = MAGIC + struct.pack("<I", start - 8)
    out[8:start] = text.ljust(start - 8)
    for values, offset in zip(little, offsets, strict=True):
        out[offset : offset + values.nbytes] = values.tobytes()
    return bytes(out)


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN

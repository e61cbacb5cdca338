"""The drag stream's work: the page sends 2D points while the user drags; each answer is the
image at the newest point, decoded through the projection's inverse map.

A model without a decoder answers with the nearest real item's image instead, saying so:
``"image_source": "nearest"`` with ``nearest_id`` and ``nearest_name`` (``image`` null when
the items have no images); decoded frames say ``"image_source": "decoded"``, or
``"fitted_decoder"`` when the model decodes through a decoder fitted to it afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import isfinite
from typing import Any

import numpy as np

from app.services.images import png_bytes, png_data_url_from_png
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore
from app.services.nearest import nearest_frame
from app.services.refs import MAX_COORDINATE, projection_name
from models.errors import InvalidInputError

MAX_MESSAGE = 4096  # a point message is ~60 bytes
MAX_PROJECTION_NAME = 32
EXAMPLE = '{"x": 0.5, "y": 1.0, "seq": 1}'


@dataclass
class DragSession:
    """One open stream: its model and the projection a point without one is on."""

    model: LoadedModel
    default_projection: str


def open_drag(store: ModelStore, model: str, projection: str | None) -> DragSession:
    """Check the stream's model and default projection (404 / 422 as for any request); None:
    the model's default projection."""
    m = store.get(model)
    shown = None if projection is None else projection[:MAX_PROJECTION_NAME]
    return DragSession(m, projection_name(m, shown))


async def drag_frame(worker: InferenceWorker, session: DragSession, text: str) -> dict[str, Any]:
    """One point message -> the frame to send back (the JSON object, image as a data URL)."""
    m = session.model
    name, xy, seq = parse_point(text, session.default_projection)
    name = projection_name(m, name)
    image: dict[str, Any] = {"image_source": m.decoded_source}
    png: bytes | None
    if m.can_decode:
        latent, png = await decoded_frame(worker, m, name, xy)
    else:  # no decoder: the nearest real item's image (None: it has none)
        frame = await worker.run(nearest_frame, m, name, xy)
        latent, png = frame.latent, frame.png
        image = {
            "image_source": "nearest",
            "nearest_id": frame.nearest_id,
            "nearest_name": frame.nearest_name,
        }
    return {
        "seq": seq,
        "x": float(xy[0]),
        "y": float(xy[1]),
        "projection": name,
        "latent": latent.tolist(),
        "image": None if png is None else png_data_url_from_png(png),
        **image,
    }


async def decoded_frame(
    worker: InferenceWorker, m: LoadedModel, projection: str, xy: np.ndarray
) -> tuple[np.ndarray, bytes]:
    """2D point -> latent -> PNG bytes, as one call on the inference thread: a single hand-off,
    and the PNG is made there too, off the event loop."""
    return await worker.run(_decoded_frame, m, projection, xy)


def _decoded_frame(m: LoadedModel, projection: str, xy: np.ndarray) -> tuple[np.ndarray, bytes]:
    latent = m.index.inverses[projection].transform(xy[None])  # (1, D)
    image = m.decode(latent)[0]  # (C, H, W)
    return latent[0], png_bytes(image)  # png_bytes maps NaN to black itself


def _bad_point(message: str) -> InvalidInputError:
    return InvalidInputError(message, code="bad_point")


def parse_point(text: str, default_projection: str) -> tuple[str, np.ndarray, Any]:
    """``{"x": 1.2, "y": -0.4, "seq": 7, "projection": "umap"}`` -> (projection, xy, seq).
    Anything else: 422 ``bad_point`` saying what to send."""
    if len(text) > MAX_MESSAGE:
        raise _bad_point(f"message longer than {MAX_MESSAGE} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested too deep
        raise _bad_point(f"message is not JSON ({exc}); send an object like {EXAMPLE}") from None
    if not isinstance(data, dict):
        raise _bad_point(f"send a JSON object like {EXAMPLE}")
    x, y = data.get("x"), data.get("y")
    # Checked by type first: numpy raises TypeError, not ValueError, for an object or a list.
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise _bad_point(f"x and y must be numbers, as in {EXAMPLE}")
    try:
        xy = np.array([x, y], dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        raise _bad_point("x and y must be finite numbers") from None
    if not np.isfinite(xy).all() or np.abs(xy).max() > MAX_COORDINATE:
        raise _bad_point("x and y must be finite numbers")
    projection = data.get("projection", default_projection)
    if not isinstance(projection, str):
        raise _bad_point("projection must be a string")
    return projection, xy.astype(np.float32), _echoed(data.get("seq"))


def _echoed(seq: Any) -> Any:
    """The client's sequence tag, echoed back when it is a plain value; None otherwise."""
    if not (seq is None or isinstance(seq, int | float | str)):
        return None
    if isinstance(seq, float) and not isfinite(seq):
        return None  # echoed back as a NaN literal, which JSON.parse rejects
    return seq

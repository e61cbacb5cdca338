"""The drag stream's work: the page sends 2D points while the user drags; each answer is the
image at the newest point, decoded through the projection's inverse map.

A model without a decoder answers with the nearest real item's image instead, saying so:
``"image_source": "nearest"`` with ``nearest_id`` and ``nearest_name`` (``image`` null when
the items have no images); decoded frames say ``"image_source": "decoded"`` (or
``"fitted_decoder"`` when the model decodes through a decoder fitted to it afterwards) and
``"batch"``,
how many images the forward pass that made the frame decoded (the frames of every stream on a
model, and the HTTP decodes, waiting when the inference worker is free share one pass).

A frame travels in one of two forms, chosen when the stream opens: JSON text with the image as
a PNG data URL (``frame_json``, the default), or one binary message (``frame_binary``): a
4-byte big-endian header length, that many bytes of UTF-8 JSON header holding every field of
the JSON form but ``image``, plus ``image_type`` ("image/png", or null when there is no
image), then the image bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from math import isfinite
from typing import Any, Literal

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
FrameForm = Literal["json", "binary"]
FRAME_FORMS: tuple[FrameForm, ...] = ("json", "binary")
_HEADER_LENGTH = struct.Struct(">I")  # the binary form's prefix: the JSON header's byte count


@dataclass
class DragSession:
    """One open stream: its model and the projection a point without one is on."""

    model: LoadedModel
    default_projection: str
    form: FrameForm = "json"


def open_drag(
    store: ModelStore, model: str, projection: str | None, frames: str | None = None
) -> DragSession:
    """Check the stream's model, default projection (None: the model's) and frame form (None:
    JSON): 404 / 422 as for any request."""
    m = store.get(model)
    shown = None if projection is None else projection[:MAX_PROJECTION_NAME]
    name = projection_name(m, shown)
    form = frames or "json"
    if form not in FRAME_FORMS:
        raise InvalidInputError(
            f"frames must be one of {', '.join(FRAME_FORMS)}, not {form[:MAX_PROJECTION_NAME]!r}",
            code="invalid_input",
        )
    return DragSession(m, name, form)


@dataclass
class Frame:
    """One answer: every field of the frame but the image, and the image as PNG bytes."""

    header: dict[str, Any]
    png: bytes | None  # None: the nearest item has no stored image


def frame_json(frame: Frame) -> dict[str, Any]:
    """The JSON form: the header with ``image``, a PNG data URL or null."""
    image = None if frame.png is None else png_data_url_from_png(frame.png)
    return {**frame.header, "image": image}


def frame_binary(frame: Frame) -> bytes:
    """The binary form: header length (4 bytes, big-endian), JSON header, image bytes."""
    header = {**frame.header, "image_type": None if frame.png is None else "image/png"}
    text = json.dumps(header, separators=(",", ":")).encode()
    return b"".join((_HEADER_LENGTH.pack(len(text)), text, frame.png or b""))


def parse_frame_binary(message: bytes) -> tuple[dict[str, Any], bytes]:
    """The inverse of ``frame_binary`` (for clients in Python: tests and benchmarks)."""
    (length,) = _HEADER_LENGTH.unpack_from(message)
    end = _HEADER_LENGTH.size + length
    header: dict[str, Any] = json.loads(message[_HEADER_LENGTH.size : end])
    return header, message[end:]


async def drag_frame(worker: InferenceWorker, session: DragSession, text: str) -> Frame:
    """One point message -> the frame to send back. The image is decoded in the worker's
    shared batches and encoded as PNG on its image pool, off the inference thread."""
    m = session.model
    name, xy, seq = parse_point(text, session.default_projection)
    name = projection_name(m, name)
    image: dict[str, Any]
    pixels: np.ndarray | None
    if m.can_decode:
        latent, pixels, batch = await decoded_frame(worker, m, name, xy)
        image = {"image_source": m.decoded_source, "batch": batch}
    else:  # no decoder: the nearest real item's image (None: it has none)
        frame = await worker.run(nearest_frame, m, name, xy)
        latent, pixels = frame.latent, frame.image
        image = {
            "image_source": "nearest",
            "nearest_id": frame.nearest_id,
            "nearest_name": frame.nearest_name,
        }
    png = None if pixels is None else await worker.run_images(png_bytes, pixels)
    header = {
        "seq": seq,
        "x": float(xy[0]),
        "y": float(xy[1]),
        "projection": name,
        "latent": latent.tolist(),
        **image,
    }
    return Frame(header, png)


async def decoded_frame(
    worker: InferenceWorker, m: LoadedModel, projection: str, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """2D point -> (latent (D,), image (C, H, W), images in its forward pass), through the
    worker's batches: the inverse map and the decoder run there for every waiting frame of
    the model at once."""
    decoded = await worker.decode_at(
        m.name, m.decode, m.index.inverses[projection].transform, xy[None]
    )
    return decoded.latents[0], decoded.images[0], decoded.batch


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

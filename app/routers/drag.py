"""The drag stream: the page sends 2D points while the user drags; the server answers each
with the image decoded at the newest point, dropping points that went stale meanwhile.

A model without a decoder answers with the nearest real item's image instead, saying so:
``"image_source": "nearest"`` with ``nearest_id`` and ``nearest_name`` (``image`` null when
the items have no images); decoded frames say ``"image_source": "decoded"``."""

from __future__ import annotations

import asyncio
import json
import logging
from math import isfinite
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.errors import error_body
from app.services.explorer import Explorer
from app.services.images import png_data_url_from_png
from models.errors import LatentExplorerError

router = APIRouter(prefix="/api/models", tags=["drag"])
log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # a point message is ~60 bytes
EXAMPLE = '{"x": 0.5, "y": 1.0, "seq": 1}'


def parse_point(text: str, default_projection: str) -> tuple[str, np.ndarray, Any]:
    """``{"x": 1.2, "y": -0.4, "seq": 7, "projection": "umap"}`` -> (projection, xy, seq)."""
    if len(text) > MAX_MESSAGE:
        raise ValueError(f"message longer than {MAX_MESSAGE} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested too deep
        raise ValueError(f"message is not JSON ({exc}); send an object like {EXAMPLE}") from None
    if not isinstance(data, dict):
        raise ValueError(f"send a JSON object like {EXAMPLE}")
    x, y = data.get("x"), data.get("y")
    # Checked by type first: numpy raises TypeError, not ValueError, for an object or a list.
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise ValueError(f"x and y must be numbers, as in {EXAMPLE}")
    try:
        xy = np.array([x, y], dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        raise ValueError("x and y must be finite numbers") from None
    if not np.isfinite(xy).all() or np.abs(xy).max() > 1e9:
        raise ValueError("x and y must be finite numbers")
    seq = data.get("seq")
    if not (seq is None or isinstance(seq, int | float | str)):
        seq = None
    elif isinstance(seq, float) and not isfinite(seq):
        seq = None  # echoed back as a NaN literal, which JSON.parse rejects
    projection = data.get("projection", default_projection)
    if not isinstance(projection, str):
        raise ValueError("projection must be a string")
    return projection, xy.astype(np.float32), seq


@router.websocket("/{model}/drag")
async def drag_stream(websocket: WebSocket, model: str, projection: str = "umap") -> None:
    await websocket.accept()
    explorer: Explorer = websocket.app.state.explorer
    try:
        m = explorer.model(model)
        default = explorer.projection_name(m, projection[:32])
    except LatentExplorerError as exc:
        status = int(getattr(exc, "status", 400))
        await websocket.send_json(
            error_body(status, str(getattr(exc, "code", "bad_request")), str(exc))
        )
        await websocket.close(code=4000 + status)
        return
    latest: list[str] = []
    wake = asyncio.Event()

    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            # A binary frame is read as UTF-8 text, so it gets a parse error frame at worst
            # (receive_text would raise KeyError and end the stream).
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            latest[:] = [text]  # only the newest point is kept
            wake.set()

    reader = asyncio.create_task(receive())
    reader.add_done_callback(_read_outcome)  # whatever ends the stream, its outcome is read
    waiter: asyncio.Task[bool] | None = None
    try:
        while True:
            waiter = asyncio.create_task(wake.wait())
            done, _ = await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                reader.result()  # re-raises the disconnect
            wake.clear()
            text = latest.pop() if latest else None
            if text is None:
                continue
            try:
                name, xy, seq = parse_point(text, default)
                name = explorer.projection_name(m, name)
                image: dict[str, Any] = {"image_source": "decoded"}
                png: bytes | None
                if m.can_decode:
                    latent, png = await explorer.drag_frame(m, name, xy)
                else:  # no decoder: the nearest real item's image (None: it has none)
                    frame = await explorer.nearest_drag_frame(m, name, xy)
                    latent, png = frame.latent, frame.png
                    image = {
                        "image_source": "nearest",
                        "nearest_id": frame.nearest_id,
                        "nearest_name": frame.nearest_name,
                    }
            except (ValueError, LatentExplorerError) as exc:
                status = int(getattr(exc, "status", 422))
                await websocket.send_json(
                    error_body(status, str(getattr(exc, "code", "bad_point")), str(exc))
                )
                continue
            await websocket.send_json(
                {
                    "seq": seq,
                    "x": float(xy[0]),
                    "y": float(xy[1]),
                    "projection": name,
                    "latent": latent.tolist(),
                    "image": None if png is None else png_data_url_from_png(png),
                    **image,
                }
            )
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        if waiter is not None:
            waiter.cancel()


def _read_outcome(task: asyncio.Task[None]) -> None:
    """Retrieve a finished reader's exception: the handler may have ended on another error
    (a send to a closed socket) before it looked, and an unread one is logged as a fault."""
    if not task.cancelled():
        task.exception()

"""The drag stream: the page sends 2D points while the user drags; the server answers each
with the image at the newest point (app/services/drag.py), dropping points that went stale
meanwhile. Errors are sent as frames in the one error shape (app/errors.py); an error before
the stream starts (unknown model or projection, a bad ``frames``) closes it with code
4000 + status. ``?frames=binary`` sends each frame as one binary message (the page does);
the default is JSON text. Errors are JSON text in either form."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.errors import error_body, log_model_error
from app.services.drag import drag_frame, frame_binary, frame_json, open_drag
from app.services.explorer import Explorer
from models.errors import LatentExplorerError

router = APIRouter(prefix="/api/models", tags=["drag"])
log = logging.getLogger(__name__)


@router.websocket("/{model}/drag")
async def drag_stream(
    websocket: WebSocket, model: str, projection: str | None = None, frames: str | None = None
) -> None:
    await websocket.accept()
    explorer: Explorer = websocket.app.state.explorer
    try:
        session = open_drag(explorer.store, model, projection, frames)
    except LatentExplorerError as exc:
        await websocket.send_json(error_body(exc))
        await websocket.close(code=4000 + exc.status)
        return

    async def answer(text: str) -> None:
        try:
            frame = await drag_frame(explorer.worker, session, text)
        except Exception as exc:  # an error frame, and the stream goes on
            if not isinstance(exc, LatentExplorerError):
                log.exception("drag frame failed on %s", session.model.name)
            elif exc.status >= 500:  # the model's own code failed (model_error)
                log_model_error(exc, f"drag on {session.model.name}")
            await websocket.send_json(error_body(exc))
            return
        if session.form == "binary":
            await websocket.send_bytes(frame_binary(frame))
        else:
            await websocket.send_json(frame_json(frame))

    await _serve_newest(websocket, answer)


async def _serve_newest(websocket: WebSocket, answer: Callable[[str], Awaitable[None]]) -> None:
    """Read messages as they come, keeping only the newest, and ``answer`` it whenever the
    previous answer is done, until the client disconnects."""
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
            if latest:
                await answer(latest.pop())
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

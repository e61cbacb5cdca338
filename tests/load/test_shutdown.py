"""SIGTERM while drag WebSockets are streaming: the server closes them, runs its lifespan
shutdown (which closes the inference worker) and exits within 5 s, with no task left for
uvicorn to cancel."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.load.clients import Target, drag_frame, open_drag, write_report
from tests.load.conftest import check_clean_exit
from tests.serverproc import ServerProcess, start_server

pytestmark = pytest.mark.timeout(120)

SOCKETS = 6
EXIT_LIMIT = 5.0  # seconds from SIGTERM to the process gone
SERVICE_RESTART = 1012  # the close code uvicorn sends its WebSockets when shutting down


async def stream(target: Target, seed: int, frames: list[int]) -> int | None:
    """Drag without pause until the server closes the socket; its close code."""
    rng = random.Random(seed)
    ws = await open_drag(target)
    try:
        while True:
            await asyncio.wait_for(drag_frame(ws, *target.place(rng), seq=frames[seed]), 10)
            frames[seed] += 1
    except ConnectionClosed:
        return ws.close_code


async def terminate_mid_stream(server: ServerProcess, model: str) -> tuple[float, list[int | None]]:
    target = await Target.fetch(server.base, model)
    frames = [0] * SOCKETS
    streams = [asyncio.create_task(stream(target, i, frames)) for i in range(SOCKETS)]
    deadline = time.monotonic() + 30
    while min(frames) < 5:  # every socket is streaming
        assert time.monotonic() < deadline and not any(s.done() for s in streams), frames
        await asyncio.sleep(0.01)
    start = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(server.process.wait, 2 * EXIT_LIMIT)
    seconds = time.perf_counter() - start
    codes = await asyncio.wait_for(asyncio.gather(*streams), 10)
    return seconds, codes


def test_sigterm_with_open_drag_sockets_exits_within_five_seconds(
    workspace: Path, tmp_path: Path, model_name: str
) -> None:
    server = start_server(workspace, tmp_path)
    try:
        seconds, codes = asyncio.run(terminate_mid_stream(server, model_name))
    finally:
        server.stop()
    write_report("sigterm", {"sockets": SOCKETS, "exit_seconds": round(seconds, 3)})

    assert seconds < EXIT_LIMIT
    assert codes == [SERVICE_RESTART] * SOCKETS
    check_clean_exit(server)

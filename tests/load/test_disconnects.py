"""Clients that vanish mid-request leave nothing behind: cut off half-way through an upload,
or dropped mid-drag without a WebSocket close frame, 20 times over. Afterwards the in-flight
count is back to exactly 0 (the two-request limit fits two requests again, and no more), the
server's open files and threads are back to their baseline, its TMPDIR holds nothing, its log
has no error, and it keeps serving."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import pytest
from websockets.sync.client import connect as ws_sync_connect

from app.services.drag import parse_frame_binary
from tests.api.helpers import encode_file
from tests.load import raw
from tests.load.conftest import SMALL_INFLIGHT
from tests.serverproc import ServerProcess, get_json

pytestmark = pytest.mark.timeout(120)

DISCONNECTS = 20
CUTS = (0.0, 0.3, 0.6, 0.95)  # where an upload is cut off, as a fraction of its body
SETTLE_SECONDS = 5.0  # for the server to notice the closed connections and clean up


@dataclass(frozen=True)
class Usage:
    fds: int
    threads: int

    @classmethod
    def of(cls, process: psutil.Process) -> Usage:
        return cls(process.num_fds(), process.num_threads())

    def within(self, baseline: Usage) -> bool:
        return self.fds <= baseline.fds and self.threads <= baseline.threads


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def temp_files_open(process: psutil.Process, tmpdir: Path) -> list[str]:
    """Files the server holds open under its TMPDIR. An unnamed temporary file (O_TMPFILE,
    as Python's TemporaryFile makes) shows only in /proc/PID/fd, as "TMPDIR/#123 (deleted)";
    psutil's open_files() leaves deleted files out."""
    found = []
    for fd in Path(f"/proc/{process.pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:  # closed meanwhile
            continue
        if str(target).startswith(f"{tmpdir}/"):
            found.append(str(target))
    return found


def unread_bytes(server_port: int, client_port: int) -> int | None:
    """Bytes the server's kernel holds for it on this connection that the server has not
    read yet (the rx_queue of /proc/net/tcp); None once the connection is gone."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, queues = fields[1], fields[2], fields[4]
        if (int(local.split(":")[1], 16), int(remote.split(":")[1], 16)) == (
            server_port,
            client_port,
        ):
            return int(queues.split(":")[1], 16)
    return None


def all_read(server: ServerProcess, sock: socket.socket) -> Callable[[], bool]:
    """Whether the server has read everything sent on ``sock`` so far."""
    client_port = sock.getsockname()[1]
    return lambda: unread_bytes(server.port, client_port) == 0


@pytest.fixture(scope="module")
def noise_png() -> bytes:
    """A 2 MB PNG (noise does not compress): its upload arrives in many reads."""
    pixels = np.random.default_rng(0).integers(0, 256, (1400, 1400), dtype=np.uint8)
    return encode_file(pixels)


def upload(server: ServerProcess, path: str, data: bytes) -> int:
    head, body = raw.multipart_upload(path, "noise.png", data)
    with raw.connect(server.base) as sock:
        sock.sendall(head + body)
        return raw.read_response(sock)[0]


def check_nothing_left(server: ServerProcess, baseline: Usage, tmpdir: Path) -> None:
    process = psutil.Process(server.pid)

    def clean() -> bool:
        return Usage.of(process).within(baseline) and not temp_files_open(process, tmpdir)

    wait_until(clean, SETTLE_SECONDS)
    usage = Usage.of(process)
    assert usage.within(baseline), f"after the disconnects {usage}, before {baseline}"
    assert temp_files_open(process, tmpdir) == []
    assert list(tmpdir.iterdir()) == []
    log = server.log()
    for sign in ("Traceback", "ERROR", "never retrieved"):
        assert sign not in log, log[-3000:]


def check_inflight_is_zero(server: ServerProcess, api: str, data: bytes) -> None:
    """Exactly SMALL_INFLIGHT requests fit: two uploads held half-way are both admitted, a
    third request is refused while they are held, and both finish with 200. A leaked count
    would refuse one of the two; a count gone below zero would admit the third."""
    assert SMALL_INFLIGHT == 2
    head, body = raw.multipart_upload(f"{api}/encode?k=3", "noise.png", data)
    half = len(body) // 2
    held = [raw.connect(server.base) for _ in range(2)]
    try:
        for sock in held:
            sock.sendall(head + body[:half])
        time.sleep(0.1)  # for the server to read both heads (it reads them before the third)
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            status, headers, _ = raw.post_json(server.base, f"{api}/neighbors", b'{"id": 0}')
            if status == 503:
                break
            assert status == 200 and time.monotonic() < deadline, status
            time.sleep(0.05)
        assert headers["retry-after"] == "1"
        for sock in held:
            sock.sendall(body[half:])
        statuses = [raw.read_response(sock)[0] for sock in held]
    finally:
        for sock in held:
            sock.close()
    assert statuses == [200, 200]


def test_uploads_cut_off_mid_body_leave_nothing_behind(
    small_server: ServerProcess, server_tmpdir: Path, model_name: str, noise_png: bytes
) -> None:
    api = f"/api/models/{model_name}"
    path = f"{api}/encode?k=3"
    process = psutil.Process(small_server.pid)
    assert upload(small_server, path, noise_png) == 200  # the same request, whole: warm-up
    wait_until(lambda: not temp_files_open(process, server_tmpdir), SETTLE_SECONDS)
    baseline = Usage.of(process)
    head, body = raw.multipart_upload(path, "noise.png", noise_png)
    for i in range(DISCONNECTS):
        sock = raw.connect(small_server.base)
        try:
            sock.sendall(head + body[: int(CUTS[i % len(CUTS)] * len(body))])
            # Cut off only once the server has read all that was sent: the request is then
            # in the app, half-parsed, not waiting in a socket buffer.
            assert wait_until(all_read(small_server, sock), 10.0), "the server did not read"
        finally:
            raw.abort(sock, reset=i % 2 == 0)
    check_nothing_left(small_server, baseline, server_tmpdir)
    check_inflight_is_zero(small_server, api, noise_png)
    assert upload(small_server, path, noise_png) == 200


def test_drag_sockets_dropped_mid_stream_leave_nothing_behind(
    small_server: ServerProcess, server_tmpdir: Path, model_name: str, noise_png: bytes
) -> None:
    api = f"/api/models/{model_name}"
    path = f"{api}/drag?projection=umap&frames=binary"
    points = get_json(f"{small_server.base}{api}/points?projection=umap")
    xy = list(zip(points["x"], points["y"], strict=True))
    url = "ws" + small_server.base.removeprefix("http") + path

    def drag_once() -> None:
        with ws_sync_connect(url, proxy=None, open_timeout=10) as ws:
            ws.send(json.dumps({"x": xy[0][0], "y": xy[0][1], "seq": 1}))
            message = ws.recv(timeout=10)
            assert isinstance(message, bytes), message  # a binary frame, not an error
            header, png = parse_frame_binary(message)
            assert (header["seq"], png[:4]) == (1, b"\x89PNG")

    drag_once()  # warm-up, and a drag that ends properly
    process = psutil.Process(small_server.pid)
    time.sleep(0.2)
    baseline = Usage.of(process)
    stream = [json.dumps({"x": x, "y": y, "seq": n}) for n, (x, y) in enumerate(xy[:30])]
    for i in range(DISCONNECTS):
        sock = raw.ws_connect(small_server.base, path)
        try:
            sock.sendall(b"".join(raw.ws_text(text) for text in stream))
            assert sock.recv(1)  # the first frame is on its way: the server is mid-stream
        finally:
            raw.abort(sock, reset=i % 2 == 0)
    check_nothing_left(small_server, baseline, server_tmpdir)
    check_inflight_is_zero(small_server, api, noise_png)
    drag_once()


def test_the_drag_socket_declines_per_message_deflate(
    small_server: ServerProcess, model_name: str
) -> None:
    """The client offers permessage-deflate (browsers always do); the server declines it:
    frames are PNG, compressed already, and deflating them only costs CPU (issue 18)."""
    url = "ws" + small_server.base.removeprefix("http") + f"/api/models/{model_name}/drag"
    with ws_sync_connect(url, proxy=None, open_timeout=10, compression="deflate") as ws:
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        assert "permessage-deflate" in str(ws.request.headers if ws.request else "")
        ws.send(json.dumps({"x": 0.0, "y": 0.0, "seq": 1}))
        assert json.loads(ws.recv(timeout=10))["seq"] == 1  # and the stream works

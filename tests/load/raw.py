"""HTTP and WebSocket over plain sockets, for the tests that need what a library would not do:
stop an upload half-way, hold a request open, drop a WebSocket without a close frame."""

from __future__ import annotations

import base64
import os
import socket
import struct
from urllib.parse import urlsplit

BOUNDARY = "loadtestboundary7MA4YWxkTrZu0gW"


def address(base: str) -> tuple[str, int]:
    url = urlsplit(base)
    return url.hostname or "127.0.0.1", url.port or 80


def connect(base: str) -> socket.socket:
    sock = socket.create_connection(address(base), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def multipart_upload(path: str, filename: str, data: bytes) -> tuple[bytes, bytes]:
    """(request head, body) of a one-file multipart POST; the head asks the server to close
    the connection after answering, so a response is read to EOF."""
    part = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    )
    body = part.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


def abort(sock: socket.socket, reset: bool) -> None:
    """Close a connection without a goodbye: with ``reset``, a TCP RST (SO_LINGER 0), else a
    plain FIN with the request or the WebSocket left unfinished."""
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read a whole response (the connection is closed by the server after it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def post_json(base: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(base) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        return read_response(sock)


def ws_connect(base: str, path: str) -> socket.socket:
    """A WebSocket after its opening handshake (checked: 101)."""
    sock = connect(base)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: nothing of the first frame is read here
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"no WebSocket upgrade: {head[:200]!r}")
    return sock


def ws_text(text: str) -> bytes:
    """One masked text frame, as a client must send it (RFC 6455 section 5.2)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked

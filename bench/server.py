"""A real explorer server in a subprocess on 127.0.0.1, started and always stopped.

The server is `python -m app serve`, exactly what a user runs; its output goes to a log file
under bench/out/ so a server that fails to start can be diagnosed (the error quotes its tail).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from bench.stats import BenchError

HOST = "127.0.0.1"  # loopback only
REPO = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.01  # health polling interval: the start-up figure's resolution
STOP_SECONDS = 10.0  # graceful shutdown allowance before the process is killed


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:PORT
    port: int
    start_seconds: float  # from spawning the process to the first healthy answer


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a race is possible, not likely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    workspace: Path,
    model: str | None,
    log_path: Path,
    *,
    threads: int | None = None,
    timeout: float = 300.0,
    command_name: Literal["serve", "run"] = "serve",
) -> Iterator[Server]:
    """Start the server on a free port, wait until /api/health says "ok", stop it on exit.

    `model` limits the server to that model (None: every model in the workspace). `threads` is
    the server's --threads (torch threads); None leaves its default. `command_name` "run" trains
    the default model first when the workspace has none, as `make run` does.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "app", command_name,
        "--workspace", str(workspace),
        *(["--model", model] if model is not None else []),
        "--host", HOST,
        "--port", str(port),
        "--device", "cpu",
        *(["--threads", str(threads)] if threads is not None else []),
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n$ {' '.join(command)}\n".encode())
        log.flush()
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}"
        wait_healthy(process, url, log_path, timeout)
        yield Server(process, url, port, time.perf_counter() - start)
    finally:
        stop(process)


def wait_healthy(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float
) -> None:
    """Poll GET /api/health until it answers status "ok"; BenchError if the server dies or
    the deadline passes."""
    deadline = time.perf_counter() + timeout
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise BenchError(
                    f"server exited with status {process.returncode} before it was healthy; "
                    f"log {log_path}:\n{_tail(log_path)}"
                )
            try:
                response = client.get("/api/health")
                if response.status_code == 200 and response.json().get("status") == "ok":
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_SECONDS)
    raise BenchError(
        f"server not healthy after {timeout:.0f} s; log {log_path}:\n{_tail(log_path)}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

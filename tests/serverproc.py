"""A real explorer server for the tests: `python -m app serve` as a subprocess on a free
loopback port, waited on until healthy and always stopped. The browser and load tests use it;
the server's output goes to a log file that a failure quotes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT = 120.0  # seconds: loading a model and its index on a busy 2-core machine
STOP_TIMEOUT = 10.0  # seconds of graceful shutdown before the process is killed


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get_json(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
        return json.load(r)


@dataclass
class ServerProcess:
    """A started server: its process, base URL and log."""

    process: subprocess.Popen[bytes]
    base: str
    port: int
    log_path: Path
    token: str | None = None  # the access token the server was started with, if any

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if it lingers; the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_server(
    workspace: Path,
    log_dir: Path,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> ServerProcess:
    """Start `python -m app serve` on the CPU with one torch thread (plus ``args``, and ``env``
    over this process's environment); return once /api/health says "ok" (asked with the
    token when ``LATENT_EXPLORER_TOKEN`` is in ``env``)."""
    port = free_port()
    log_path = log_dir / "server.log"
    full_env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"} | dict(env or {})
    command = [sys.executable, "-m", "app", "serve", "--workspace", str(workspace)]
    command += ["--host", HOST, "--port", str(port), "--device", "cpu", "--threads", "1", *args]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    token = full_env.get("LATENT_EXPLORER_TOKEN")
    server = ServerProcess(process, f"http://{HOST}:{port}", port, log_path, token)
    try:
        wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if get_json(f"{server.base}/api/health", server.token)["status"] == "ok":
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server was not healthy in {timeout:.0f}s:\n{server.log()}")
        time.sleep(0.2)


@contextmanager
def running_server(
    workspace: Path,
    log_dir: Path,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """:func:`start_server`, stopped on exit."""
    server = start_server(workspace, log_dir, args=args, env=env)
    try:
        yield server
    finally:
        server.stop()

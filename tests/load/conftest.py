"""Load and fault fixtures: real servers (`python -m app serve` on loopback) on the session's
tiny digits model. Each test bounds its own work by count or time and stops by itself."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, running_server

LOAD_INFLIGHT = 64  # above the 50 concurrent users, so the load test meets no 503
SMALL_INFLIGHT = 2  # the overload and disconnect tests: a limit a test can fill on purpose


@pytest.fixture(scope="package")
def server(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server for load, with room for every concurrent user."""
    log_dir = tmp_path_factory.mktemp("load-server")
    with running_server(workspace, log_dir, args=["--max-inflight", str(LOAD_INFLIGHT)]) as s:
        yield s
    check_clean_exit(s)


@pytest.fixture(scope="package")
def server_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small server's TMPDIR, empty at its start: anything left there is a leak."""
    return tmp_path_factory.mktemp("server-tmpdir")


@pytest.fixture(scope="package")
def small_server(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, server_tmpdir: Path
) -> Iterator[ServerProcess]:
    """A server that takes only two API requests at once, with a TMPDIR of its own."""
    log_dir = tmp_path_factory.mktemp("small-server")
    with running_server(
        workspace,
        log_dir,
        args=["--max-inflight", str(SMALL_INFLIGHT)],
        env={"TMPDIR": str(server_tmpdir)},
    ) as s:
        yield s
    check_clean_exit(s)


def check_clean_exit(server: ServerProcess) -> None:
    """The server ended by SIGTERM the graceful way: no task was left for uvicorn to cancel
    (a WebSocket handler stuck on a gone client would be), the lifespan shutdown finished,
    and nothing in its log went wrong."""
    log = server.log()
    # uvicorn (since 0.29) shuts down gracefully, then raises the signal it caught again, so
    # the process ends as SIGTERM's default action ends it: what a supervisor expects.
    assert server.process.returncode == -signal.SIGTERM, log[-3000:]
    assert "Application shutdown complete." in log  # the lifespan shutdown ran to its end
    assert "Finished server process" in log
    for sign in ("Cancel", "timeout graceful shutdown exceeded", "Traceback", "ERROR"):
        assert sign not in log, log[-3000:]

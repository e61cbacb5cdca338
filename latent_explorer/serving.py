"""``serve`` and ``show``: the explorer on a free loopback port, from a notebook, leaving the
kernel's own process as it was.

A stored workspace is served by a subprocess (``python -P -m app serve``): the server's
process-wide start-up settings (torch threads, ``gc.freeze``, upload spooling) then apply
to that process only. Entries held in memory can only be served where they live, so they get
a uvicorn server on a thread that touches no global state: no logging set-up, no signal
handlers, no event-loop policy, no torch or gc settings (``create_app(loaded=...)``).
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.services.loaded import ModelStore
from latent_explorer._packages import ROOT
from latent_explorer.entry import Entry
from models.errors import ConfigError

HOST = "127.0.0.1"
START_TIMEOUT = 120.0  # seconds: loading models and their indexes on a busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A running explorer: ``url``, and ``stop()`` (also run when the interpreter exits)."""

    def __init__(self, url: str, stop: Any, pid: int | None) -> None:
        self.url = url
        self.pid = pid  # the subprocess's, or None for a server on a thread of this process
        self._stop = stop
        self.stopped = False
        atexit.register(self.stop)

    def __repr__(self) -> str:
        return f"<Server {self.url}{'' if not self.stopped else ' (stopped)'}>"

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._stop()
            atexit.unregister(self.stop)


def _wait_healthy(url: str, alive: Any, log: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not alive():
            raise ConfigError(f"the explorer server stopped while starting:\n{log()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                if json.load(r).get("status") == "ok":
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise ConfigError(f"the explorer server did not start in {START_TIMEOUT:.0f}s:\n{log()}")


def _serve_workspace(workspace: Path, port: int, trust_code: bool) -> Server:
    """``python -P -m app serve`` in a subprocess: -P keeps the current folder (which may
    hold a models.py) off its sys.path, and PYTHONPATH puts this checkout first."""
    url = f"http://{HOST}:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-P", "-m", "app", "serve", "--workspace", str(workspace),
               "--host", HOST, "--port", str(port)]  # fmt: skip
    if trust_code:
        command.append("--trust-code")
    log = open(_log_path(port), "w+b")  # noqa: SIM115  (closed by stop)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()

    def read_log() -> str:
        log.flush()
        return Path(log.name).read_text(errors="replace")[-4000:]

    try:
        _wait_healthy(url, lambda: process.poll() is None, read_log)
    except BaseException:
        stop()
        raise
    return Server(url, stop, process.pid)


def _log_path(port: int) -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / f"latent-explorer-{os.getpid()}-{port}.log"


def _serve_entries(entries: list[Entry], port: int) -> Server:
    """A uvicorn server on a daemon thread over entries in memory."""
    import uvicorn

    from app.main import create_app

    names = [e.name for e in entries]
    if len(set(names)) < len(names):
        raise ConfigError(f"two entries have the same name: {', '.join(names)}")
    store = ModelStore({e.name: e.loaded for e in entries}, {})
    app = create_app(Settings.model_validate({"device": "cpu"}), loaded=store)
    config = uvicorn.Config(
        app, host=HOST, port=port, log_config=None, log_level="warning", loop="asyncio",
        lifespan="on", timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"latent-explorer:{port}", daemon=True)
    thread.start()
    url = f"http://{HOST}:{port}"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    _wait_healthy(url, thread.is_alive, lambda: "(see the kernel's log)")
    return Server(url, stop, None)


def serve(what: Any, port: int | None = None, *, trust_code: bool = False) -> Server:
    """Serve a workspace (a ``Workspace`` or a folder: from a subprocess) or entries (one
    ``Entry`` or several: from a thread of this process) on ``127.0.0.1:port`` (default: a
    free port). ``trust_code`` lets the subprocess load ``pytorch-class`` models.

    >>> server = lx.serve(lx.Workspace("workspace")); server.url; server.stop()
    """
    port = port or free_port()
    if isinstance(what, Entry):
        return _serve_entries([what], port)
    if isinstance(what, Iterable) and not isinstance(what, str | os.PathLike):
        entries = list(what)
        if entries and all(isinstance(e, Entry) for e in entries):
            return _serve_entries(entries, port)
        raise ConfigError("serve takes a Workspace, a folder, an Entry or a list of entries")
    folder = Path(getattr(what, "path", what))
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such workspace folder")
    return _serve_workspace(folder, port, trust_code)


_shown: dict[str, Server] = {}  # per view key: the server the last `show` started


def show(what: Any, *, height: int = 720, key: str = "default", trust_code: bool = False) -> Server:
    """In a notebook: ``serve`` plus the page inline (an IFrame). Running it again (same
    ``key``) stops the server it started before; the kernel's exit stops it too."""
    from IPython.display import IFrame, display

    previous = _shown.pop(key, None)
    if previous is not None:
        previous.stop()
    server = serve(what, trust_code=trust_code)
    _shown[key] = server
    display(IFrame(server.url, width="100%", height=height))
    return server

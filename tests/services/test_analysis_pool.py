"""The analysis process ends with the server that started it, however the server ended: a
parent killed with SIGKILL sends no sentinel, and the worker must not wait for one forever."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A parent that starts the pool's worker, writes the worker's pid to argv[1], then kills
# itself. (To a file, not a pipe: a worker left running would hold the pipe open.)
PARENT = """
import asyncio, os, signal, sys
from pathlib import Path
from app.services.analysis import AnalysisPool

async def main():
    pool = AnalysisPool()
    Path(sys.argv[1]).write_text(str(await pool.run(os.getpid)))
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")  # Linux: a zombie counts as gone
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_the_worker_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "worker.pid"
    with (tmp_path / "stderr").open("w") as stderr:
        run = subprocess.run(
            [sys.executable, "-c", PARENT, str(out)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, timeout=120,
        )  # fmt: skip
    assert run.returncode == -9, (tmp_path / "stderr").read_text()[-2000:]
    worker = int(out.read_text())
    deadline = time.monotonic() + 15.0
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(worker):
        os.kill(worker, 9)  # leave nothing behind, then fail
        pytest.fail(f"the analysis worker {worker} outlived its killed parent by 15 s")

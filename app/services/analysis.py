"""A process of its own for analyses that take seconds (persistent homology above all).

ripser holds the GIL while it computes: on a thread of the server it would stall every request,
and on the inference thread it would stall every decode. So such work runs in one worker
process, started on first use ("spawn": a fresh interpreter, nothing of the server's state
inherited) and stopped with the app, or on its own once the server is gone however it
ended. One process: the analyses queue behind each other rather than take both cores from
the decodes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

PARENT_POLL_SECONDS = 1.0


def exit_with_parent(parent: int) -> None:
    """The worker's initializer: a daemon thread ends the worker once the server that started
    it is gone. A server stopped with SIGKILL (or one whose graceful stop ran out of time)
    never sends the executor's sentinel, and the worker, holding both ends of its own call
    queue, would otherwise wait on it forever, with hundreds of MB of torch and numpy."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class AnalysisPool:
    """Runs picklable module-level functions in a single spawned worker process."""

    def __init__(self) -> None:
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._get(), fn, *args)

    def _get(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=exit_with_parent,
                    initargs=(os.getpid(),),
                )
            return self._executor

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

"""One inference worker per process, with micro-batching of decode requests.

All torch work runs on a single dedicated thread, so the event loop never blocks on a model
and torch never competes with itself for the CPU cores. Decode requests that arrive while the
worker is busy are merged into one batch (up to ``max_batch`` rows): under load, many users'
requests cost one forward pass; on CUDA this is what keeps the GPU busy.

The contract with callers: every ``decode`` call ends with its images or an exception, never
by waiting forever. Jobs are tracked by identity (a job holds arrays, whose ``==`` is
elementwise), each step of the drain loop that can fail is guarded so that a failure reaches
exactly the callers it affects, and the drain task's own outcome is always read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
log = logging.getLogger(__name__)


class _DecodeJob:
    """One caller's rows. A plain class on purpose: equality and hashing are by identity."""

    __slots__ = ("key", "decode", "latents", "future")

    def __init__(
        self,
        key: Any,  # batches only group jobs with the same key (the same model)
        decode: Callable[[np.ndarray], np.ndarray],
        latents: np.ndarray,  # (B, D)
        future: asyncio.Future[np.ndarray],
    ) -> None:
        self.key = key
        self.decode = decode
        self.latents = latents
        self.future = future

    @property
    def rows(self) -> int:
        return len(self.latents)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():  # a cancelled waiter (client gone) is left as it is
            self.future.set_exception(exc)


class InferenceWorker:
    """Run model calls off the event loop; merge concurrent decodes of the same model."""

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="inference")
        self._pending: list[_DecodeJob] = []
        self._drainer: asyncio.Task[None] | None = None  # the loop keeps only a weak reference
        self.batches_run = 0  # how many forward passes decode() has made (for tests/metrics)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the inference thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def decode(
        self, key: Any, decode: Callable[[np.ndarray], np.ndarray], latents: np.ndarray
    ) -> np.ndarray:
        """Decode (B, D) latents with ``decode``, batched with other waiting requests."""
        loop = asyncio.get_running_loop()
        job = _DecodeJob(key, decode, latents, loop.create_future())
        self._pending.append(job)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
            self._drainer.add_done_callback(self._drain_ended)
        return await job.future

    def _next_batch(self) -> list[_DecodeJob]:
        """Take the next batch out of the queue: the oldest job, and the later jobs of the same
        model that still fit in ``max_batch`` rows (a job that does not fit waits, in order).
        A job larger than ``max_batch`` runs alone."""
        first = self._pending[0]
        batch, rows = [first], first.rows
        for job in self._pending[1:]:
            if rows >= self.max_batch:
                break
            if job.key == first.key and rows + job.rows <= self.max_batch:
                batch.append(job)
                rows += job.rows
        taken = {id(job) for job in batch}
        self._pending = [job for job in self._pending if id(job) not in taken]
        return batch

    async def _drain(self) -> None:
        batch: list[_DecodeJob] = []
        try:
            while self._pending:
                # Waiters that left (a closed connection) cost nothing: drop them first.
                self._pending = [job for job in self._pending if not job.future.done()]
                if not self._pending:
                    break
                batch = self._next_batch()
                try:
                    stacked = np.concatenate([job.latents for job in batch])
                    images = await self.run(batch[0].decode, stacked)
                    if len(images) != len(stacked):
                        raise RuntimeError(
                            f"the decoder returned {len(images)} images for {len(stacked)} latents"
                        )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # hand the failure to every waiter, keep serving
                    for job in batch:
                        job.fail(exc)
                    batch = []
                    continue
                self.batches_run += 1
                start = 0
                for job in batch:
                    if not job.future.done():
                        job.future.set_result(images[start : start + job.rows])
                    start += job.rows
                batch = []
        except BaseException as exc:
            # Only cancellation (the loop shutting down) or a bug in the loop itself gets here:
            # nobody may be left waiting, whatever it was.
            failure = (
                exc
                if isinstance(exc, Exception)
                else RuntimeError("the inference worker stopped before this request was decoded")
            )
            for job in [*batch, *self._pending]:
                job.fail(failure)
            self._pending = []
            raise

    def _drain_ended(self, task: asyncio.Task[None]) -> None:
        """Read the drain task's outcome (so no exception goes unretrieved) and log a bug."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("the inference worker's drain loop failed", exc_info=exc)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

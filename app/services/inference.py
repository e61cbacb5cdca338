"""One inference worker per process, with micro-batching of decode requests.

All torch work runs on a single dedicated thread, so the event loop never blocks on a model
and torch never competes with itself for the CPU cores. Decode requests that arrive while the
worker is busy are merged into one batch (up to ``max_batch``): under load, many users' drag
frames cost one forward pass; on CUDA this is what keeps the GPU busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class _DecodeJob:
    key: Any  # batches only group jobs with the same key (the same model)
    decode: Callable[[np.ndarray], np.ndarray]
    latents: np.ndarray  # (B, D)
    future: asyncio.Future[np.ndarray]


class InferenceWorker:
    """Run model calls off the event loop; merge concurrent decodes of the same model."""

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="inference")
        self._pending: list[_DecodeJob] = []
        self._draining = False
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
        if not self._draining:
            self._draining = True
            self._drainer = loop.create_task(self._drain())
        return await job.future

    async def _drain(self) -> None:
        try:
            while self._pending:
                first = self._pending[0]
                batch, rows = [], 0
                for job in list(self._pending):
                    if job.key == first.key and rows + len(job.latents) <= self.max_batch:
                        batch.append(job)
                        rows += len(job.latents)
                    if rows >= self.max_batch:
                        break
                if not batch:  # one request larger than max_batch runs alone
                    batch = [first]
                for job in batch:
                    self._pending.remove(job)
                stacked = np.concatenate([job.latents for job in batch])
                try:
                    images = await self.run(first.decode, stacked)
                except Exception as exc:  # hand the failure to every waiter, keep serving
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                self.batches_run += 1
                start = 0
                for job in batch:
                    n = len(job.latents)
                    if not job.future.done():  # a cancelled waiter (client gone) is skipped
                        job.future.set_result(images[start : start + n])
                    start += n
        finally:
            self._draining = False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

"""One inference worker per process, with micro-batching of decode requests.

All torch work runs on a single dedicated thread, so the event loop never blocks on a model
and torch never competes with itself for the CPU cores. Decode requests that arrive while the
worker is busy are merged into one batch (up to ``max_batch`` rows): under load, many users'
requests cost one forward pass; on CUDA this is what keeps the GPU busy. Drag frames join the
same batches (``decode_at``): each brings a map point and the step that turns it into a latent
(the projection's inverse map), which runs on the inference thread too, once per batch for all
the points on the same map.

Image encoding (PNG) has a small pool of its own (``run_images``): zlib releases the GIL, so
the frames of one batch are encoded while the inference thread decodes the next.

The contract with callers: every ``decode`` call ends with its images or an exception, never
by waiting forever. Jobs are tracked by identity (a job holds arrays, whose ``==`` is
elementwise), each step of the drain loop that can fail is guarded so that a failure reaches
exactly the callers it affects, and the drain task's own outcome is always read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np

T = TypeVar("T")
Prepare = Callable[[np.ndarray], np.ndarray]  # (B, ...) inputs -> (B, D) latents
log = logging.getLogger(__name__)
IMAGE_THREADS = max(1, min(2, os.cpu_count() or 1))  # PNG encoding; more buys nothing on 2 cores


class Decoded(NamedTuple):
    """One request's share of a forward pass."""

    latents: np.ndarray  # (B, D)
    images: np.ndarray  # (B, C, H, W)
    batch: int  # images in the whole forward pass (1: it ran alone)


class _DecodeJob:
    """One caller's rows. A plain class on purpose: equality and hashing are by identity."""

    __slots__ = ("key", "decode", "inputs", "prepare", "future", "latents", "error")

    def __init__(
        self,
        key: Any,  # batches only group jobs with the same key (the same model)
        decode: Callable[[np.ndarray], np.ndarray],
        inputs: np.ndarray,  # (B, D) latents, or what ``prepare`` turns into them
        prepare: Prepare | None,
        future: asyncio.Future[Decoded],
    ) -> None:
        self.key = key
        self.decode = decode
        self.inputs = inputs
        self.prepare = prepare
        self.future = future
        # Set on the inference thread by _forward, read on the loop once it has returned.
        self.latents: np.ndarray | None = None if prepare is not None else inputs
        self.error: Exception | None = None

    @property
    def rows(self) -> int:
        return len(self.inputs)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():  # a cancelled waiter (client gone) is left as it is
            self.future.set_exception(exc)


def _forward(batch: list[_DecodeJob]) -> np.ndarray | None:
    """On the inference thread: prepare the jobs' latents (one ``prepare`` call per distinct
    function, for all its jobs at once), then decode every job that has them in one forward
    pass. A ``prepare`` that fails marks only its own jobs (``job.error``); None: none left."""
    groups: dict[Any, list[_DecodeJob]] = {}
    for job in batch:
        if job.prepare is not None:
            groups.setdefault(job.prepare, []).append(job)
    for prepare, jobs in groups.items():
        try:
            latents = prepare(np.concatenate([job.inputs for job in jobs]))  # (B, D)
            if len(latents) != sum(job.rows for job in jobs):
                raise RuntimeError(f"{prepare!r} returned {len(latents)} rows")
        except Exception as exc:
            for job in jobs:
                job.error = exc
            continue
        start = 0
        for job in jobs:
            job.latents = latents[start : start + job.rows]
            start += job.rows
    ready = [job.latents for job in batch if job.latents is not None]
    if not ready:
        return None
    stacked = np.concatenate(ready)  # (B, D)
    images = batch[0].decode(stacked)
    if len(images) != len(stacked):
        raise RuntimeError(f"the decoder returned {len(images)} images for {len(stacked)} latents")
    return images


class InferenceWorker:
    """Run model calls off the event loop; merge concurrent decodes of the same model."""

    def __init__(self, max_batch: int = 64, image_threads: int = IMAGE_THREADS) -> None:
        self.max_batch = max_batch
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="inference")
        self._images = concurrent.futures.ThreadPoolExecutor(
            image_threads, thread_name_prefix="images"
        )
        self._pending: list[_DecodeJob] = []
        self._drainer: asyncio.Task[None] | None = None  # the loop keeps only a weak reference
        self.batches_run = 0  # how many forward passes decode() has made (for tests/metrics)
        self.rows_run = 0  # ... and how many rows they held in all

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the inference thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def run_images(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (image encoding: no torch) on the image pool, off the inference
        thread, so encoding one batch's frames overlaps decoding the next."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._images, fn, *args)

    async def decode(
        self, key: Any, decode: Callable[[np.ndarray], np.ndarray], latents: np.ndarray
    ) -> np.ndarray:
        """Decode (B, D) latents with ``decode``, batched with other waiting requests."""
        return (await self._submit(key, decode, latents, None)).images

    async def decode_at(
        self,
        key: Any,
        decode: Callable[[np.ndarray], np.ndarray],
        prepare: Prepare,
        inputs: np.ndarray,
    ) -> Decoded:
        """``decode(prepare(inputs))`` -> its latents and images, batched with the other
        waiting requests of ``key``: a drag frame's map points (B, 2) and the inverse map. The
        jobs of a batch that share ``prepare`` are prepared in one call."""
        return await self._submit(key, decode, inputs, prepare)

    async def _submit(
        self,
        key: Any,
        decode: Callable[[np.ndarray], np.ndarray],
        inputs: np.ndarray,
        prepare: Prepare | None,
    ) -> Decoded:
        loop = asyncio.get_running_loop()
        job = _DecodeJob(key, decode, inputs, prepare, loop.create_future())
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
                    images = await self.run(_forward, batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # hand the failure to every waiter, keep serving
                    for job in batch:
                        job.fail(exc if job.error is None else job.error)
                    batch = []
                    continue
                self._deliver(batch, images)
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

    def _deliver(self, batch: list[_DecodeJob], images: np.ndarray | None) -> None:
        """Each job of a finished batch gets its own rows, or its ``prepare`` step's error."""
        start = 0
        for job in batch:
            if job.error is not None or job.latents is None:
                job.fail(job.error or RuntimeError("no latents were prepared"))
                continue
            assert images is not None  # a job with latents was decoded
            if not job.future.done():
                job.future.set_result(
                    Decoded(job.latents, images[start : start + job.rows], len(images))
                )
            start += job.rows
        if images is not None:
            self.batches_run += 1
            self.rows_run += len(images)

    def _drain_ended(self, task: asyncio.Task[None]) -> None:
        """Read the drain task's outcome (so no exception goes unretrieved) and log a bug."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("the inference worker's drain loop failed", exc_info=exc)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._images.shutdown(wait=False, cancel_futures=True)

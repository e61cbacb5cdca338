"""InferenceWorker: model calls off the event loop, concurrent decodes merged into batches,
and a failing batch reported to its callers without stopping the worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from app.services.inference import InferenceWorker


@pytest.fixture
def worker() -> Iterator[InferenceWorker]:
    worker = InferenceWorker(max_batch=64)
    yield worker
    worker.close()


class RecordingDecoder:
    """A stand-in decode: (B, D) -> (B, 1, 1, D) of ``2 z + offset``, recording each batch."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self.batches: list[np.ndarray] = []
        self.threads: set[str] = set()

    def __call__(self, latents: np.ndarray) -> np.ndarray:
        self.batches.append(latents.copy())
        self.threads.add(threading.current_thread().name)
        return (2.0 * latents + self.offset)[:, None, None, :]


def requests(n: int, dim: int = 3) -> list[np.ndarray]:
    """n requests of 1, 2, 3, 1, 2, 3... distinct rows each."""
    out, value = [], 0.0
    for i in range(n):
        rows = 1 + i % 3
        out.append(np.arange(value, value + rows * dim, dtype=np.float32).reshape(rows, dim))
        value += rows * dim
    return out


def test_concurrent_decodes_share_a_batch_and_get_their_own_rows(
    worker: InferenceWorker,
) -> None:
    decoder = RecordingDecoder()
    latents = requests(10)

    async def main() -> list[np.ndarray]:
        return await asyncio.gather(*(worker.decode("m", decoder, z) for z in latents))

    results = asyncio.run(main())
    assert worker.batches_run == len(decoder.batches) < len(latents)
    assert sum(len(b) for b in decoder.batches) == sum(len(z) for z in latents)
    for z, result in zip(latents, results, strict=True):
        np.testing.assert_array_equal(result, (2.0 * z)[:, None, None, :])
    assert all(name.startswith("inference") for name in decoder.threads)


def test_requests_arriving_while_busy_are_merged_into_the_next_batch(
    worker: InferenceWorker,
) -> None:
    started, release = threading.Event(), threading.Event()
    decoder = RecordingDecoder()

    def slow_first(latents: np.ndarray) -> np.ndarray:
        if not decoder.batches:
            started.set()
            assert release.wait(10)
        return decoder(latents)

    latents = requests(6)

    async def main() -> list[np.ndarray]:
        first = asyncio.ensure_future(worker.decode("m", slow_first, latents[0]))
        await asyncio.to_thread(started.wait, 10)  # the worker is now busy with the first
        rest = [asyncio.ensure_future(worker.decode("m", slow_first, z)) for z in latents[1:]]
        await asyncio.sleep(0)  # let them queue up
        release.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(main())
    assert worker.batches_run == 2
    np.testing.assert_array_equal(decoder.batches[0], latents[0])
    np.testing.assert_array_equal(decoder.batches[1], np.concatenate(latents[1:]))
    for z, result in zip(latents, results, strict=True):
        np.testing.assert_array_equal(result[:, 0, 0], 2.0 * z)


def test_batches_never_mix_models(worker: InferenceWorker) -> None:
    a, b = RecordingDecoder(offset=0.0), RecordingDecoder(offset=100.0)
    latents = requests(8)

    async def main() -> list[np.ndarray]:
        return await asyncio.gather(
            *(worker.decode(i % 2, b if i % 2 else a, z) for i, z in enumerate(latents))
        )

    results = asyncio.run(main())
    assert worker.batches_run == len(a.batches) + len(b.batches) == 2
    for i, (z, result) in enumerate(zip(latents, results, strict=True)):
        np.testing.assert_array_equal(result[:, 0, 0], 2.0 * z + (100.0 if i % 2 else 0.0))


def test_a_batch_holds_at_most_max_batch_rows() -> None:
    worker = InferenceWorker(max_batch=4)
    decoder = RecordingDecoder()
    latents = [np.full((2, 2), i, np.float32) for i in range(4)] + [np.ones((9, 2), np.float32)]

    async def main() -> list[np.ndarray]:
        return await asyncio.gather(*(worker.decode("m", decoder, z) for z in latents))

    try:
        results = asyncio.run(main())
    finally:
        worker.close()
    # Two requests of 2 rows fill a batch of 4; a request larger than max_batch runs alone.
    assert [len(batch) for batch in decoder.batches] == [4, 4, 9]
    for z, result in zip(latents, results, strict=True):
        np.testing.assert_array_equal(result[:, 0, 0], 2.0 * z)


def failing_on_negative(decoder: RecordingDecoder) -> Callable[[np.ndarray], np.ndarray]:
    def decode(latents: np.ndarray) -> np.ndarray:
        if (latents < 0).any():
            raise RuntimeError("decoder diverged")
        return decoder(latents)

    return decode


def test_a_failing_batch_reaches_its_callers_and_the_worker_keeps_serving(
    worker: InferenceWorker,
) -> None:
    decoder = RecordingDecoder()
    decode = failing_on_negative(decoder)
    poisoned = [np.ones((1, 2), np.float32), -np.ones((2, 2), np.float32)]
    other_model = RecordingDecoder(offset=5.0)

    async def main() -> tuple[list[object], np.ndarray, np.ndarray]:
        outcomes = await asyncio.gather(
            *(worker.decode("m", decode, z) for z in poisoned),
            worker.decode("other", other_model, np.zeros((1, 2), np.float32)),
            return_exceptions=True,
        )
        later = await worker.decode("m", decode, np.full((1, 2), 3.0, np.float32))
        other_later = await worker.decode("other", other_model, np.ones((1, 2), np.float32))
        return outcomes, later, other_later

    outcomes, later, other_later = asyncio.run(main())
    # Both callers that shared the failing batch get its error...
    for outcome in outcomes[:2]:
        assert isinstance(outcome, RuntimeError)
        assert str(outcome) == "decoder diverged"
    # ...the other model's batch in the same drain is unaffected...
    np.testing.assert_array_equal(outcomes[2], np.full((1, 1, 1, 2), 5.0))
    # ...and the worker goes on serving both.
    np.testing.assert_array_equal(later[:, 0, 0], [[6.0, 6.0]])
    np.testing.assert_array_equal(other_later[:, 0, 0], [[7.0, 7.0]])
    assert worker.batches_run == 3  # the failed batch is not counted


def test_a_cancelled_caller_does_not_break_the_others(worker: InferenceWorker) -> None:
    decoder = RecordingDecoder()
    latents = requests(3)

    async def main() -> list[np.ndarray]:
        tasks = [asyncio.ensure_future(worker.decode("m", decoder, z)) for z in latents]
        await asyncio.sleep(0)  # all three are queued
        tasks[1].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        return [r for r in done if not isinstance(r, BaseException)]

    first, third = asyncio.run(main())
    np.testing.assert_array_equal(first[:, 0, 0], 2.0 * latents[0])
    np.testing.assert_array_equal(third[:, 0, 0], 2.0 * latents[2])


def test_run_calls_the_function_on_the_inference_thread(worker: InferenceWorker) -> None:
    async def main() -> tuple[str, int]:
        name = await worker.run(lambda: threading.current_thread().name)
        total = await worker.run(sum, [1, 2, 3])
        return name, total

    name, total = asyncio.run(main())
    assert name.startswith("inference")
    assert name != threading.current_thread().name
    assert total == 6


def test_run_raises_the_functions_error(worker: InferenceWorker) -> None:
    def broken() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        asyncio.run(worker.run(broken))
    assert asyncio.run(worker.run(int, "7")) == 7

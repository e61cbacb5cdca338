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


def held_first_batch(
    decoder: RecordingDecoder,
) -> tuple[Callable[[np.ndarray], np.ndarray], threading.Event, threading.Event]:
    """``decoder`` whose first batch waits on the inference thread until ``release`` is set
    (``started`` says it is waiting): the worker is busy while a test queues more requests."""
    started, release = threading.Event(), threading.Event()

    def slow_first(latents: np.ndarray) -> np.ndarray:
        if not decoder.batches:
            started.set()
            assert release.wait(10)
        return decoder(latents)

    return slow_first, started, release


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
    decoder = RecordingDecoder()
    slow_first, started, release = held_first_batch(decoder)

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


# ---- many callers at once: every one answered (issue: requests lost under a class's load) ----

ANSWER_BOUND = 10.0  # seconds: a lost request fails the test instead of hanging it


def gather_all(
    worker: InferenceWorker, calls: list[tuple[object, object, np.ndarray]]
) -> tuple[list[object], list[dict[str, object]]]:
    """Run every (key, decode, latents) call at once; return each outcome (result or error) and
    whatever the event loop reported as unhandled (a task exception never retrieved)."""
    unhandled: list[dict[str, object]] = []

    async def main() -> list[object]:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: unhandled.append(ctx))
        tasks = [asyncio.ensure_future(worker.decode(k, d, z)) for k, d, z in calls]  # type: ignore[arg-type]
        done, pending = await asyncio.wait(tasks, timeout=ANSWER_BOUND)
        for task in pending:
            task.cancel()
        assert not pending, f"{len(pending)} of {len(tasks)} callers never got an answer"
        return [t.exception() or t.result() for t in tasks]

    outcomes = asyncio.run(main())
    import gc

    gc.collect()  # an unretrieved task exception is reported when the task is collected
    return outcomes, unhandled


def mixed_rows(seed: int, count: int, dim: int, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """``count`` requests of distinct random latents, cycling through row counts ``sizes``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(sizes[i % len(sizes)], dim)).astype(np.float32) for i in range(count)]


@pytest.mark.parametrize("models", [1, 2])
def test_many_mixed_decodes_that_skip_each_other_are_all_answered(
    worker: InferenceWorker, models: int
) -> None:
    """Row counts of 1, 16, 64 and more than a batch, queued together: a 16-row job that no
    longer fits a batch is skipped for a later 1-row job of the same model, which is then taken
    out of the queue while the skipped one stays (with value equality this compared arrays and
    killed the drain loop, leaving every waiter of that batch without an answer)."""
    decoders = [RecordingDecoder(offset=100.0 * i) for i in range(models)]
    latents = mixed_rows(0, 120, 4, (1, 16, 1, 64, 1, 16, 80, 1))
    calls = [(i % models, decoders[i % models], z) for i, z in enumerate(latents)]
    outcomes, unhandled = gather_all(worker, calls)
    assert unhandled == []
    for i, (z, outcome) in enumerate(zip(latents, outcomes, strict=True)):
        assert isinstance(outcome, np.ndarray), outcome
        np.testing.assert_array_equal(outcome[:, 0, 0], 2.0 * z + 100.0 * (i % models))
    for decoder in decoders:
        # Batches were really merged, never past max_batch unless one job is larger alone.
        assert all(len(b) <= 64 or len(b) == 80 for b in decoder.batches)
        assert any(len(b) > 16 for b in decoder.batches if len(b) <= 64)
    assert worker.batches_run == sum(len(d.batches) for d in decoders) < len(latents)


def test_a_skipped_job_keeps_its_place_in_the_queue() -> None:
    """max_batch 4: [3 rows, 2 rows, 1 row] -> the 1-row job joins the first batch past the
    2-row one, which is decoded next, alone; every caller gets its own rows."""
    worker = InferenceWorker(max_batch=4)
    decoder = RecordingDecoder()
    latents = [np.full((3, 2), 1, np.float32), np.full((2, 2), 2, np.float32)]
    latents.append(np.full((1, 2), 3, np.float32))
    try:
        outcomes, unhandled = gather_all(worker, [("m", decoder, z) for z in latents])
    finally:
        worker.close()
    assert unhandled == []
    assert [b[:, 0].tolist() for b in decoder.batches] == [[1, 1, 1, 3], [2, 2]]
    for z, outcome in zip(latents, outcomes, strict=True):
        np.testing.assert_array_equal(outcome[:, 0, 0], 2.0 * z)  # type: ignore[index]


def test_a_failure_inside_the_drain_loop_reaches_only_its_batch(worker: InferenceWorker) -> None:
    """Faults outside the model call (latents of another width that cannot be stacked, a
    decoder that returns the wrong number of images) fail the callers of that batch with a
    readable error; the other callers, and later ones, are answered."""
    decoder = RecordingDecoder()

    def short(latents: np.ndarray) -> np.ndarray:
        return decoder(latents)[:-1]

    calls: list[tuple[object, object, np.ndarray]] = [
        ("m", decoder, np.ones((2, 3), np.float32)),
        ("m", decoder, np.ones((1, 5), np.float32)),  # cannot be stacked with the first
        ("short", short, np.ones((2, 3), np.float32)),
        ("other", RecordingDecoder(offset=1.0), np.zeros((1, 3), np.float32)),
    ]
    outcomes, unhandled = gather_all(worker, calls)
    assert unhandled == []
    assert isinstance(outcomes[0], ValueError) and isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], RuntimeError)
    assert "returned 1 images for 2 latents" in str(outcomes[2])
    np.testing.assert_array_equal(outcomes[3], np.ones((1, 1, 1, 3)))  # type: ignore[arg-type]
    later, unhandled = gather_all(worker, [("m", decoder, np.ones((1, 3), np.float32))])
    np.testing.assert_array_equal(later[0], np.full((1, 1, 1, 3), 2.0))  # type: ignore[arg-type]
    assert unhandled == []


def test_a_bug_in_the_loop_itself_fails_every_waiter_and_is_logged(
    worker: InferenceWorker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Even a fault in the batching itself leaves nobody waiting: every queued caller gets
    the error, the drain task's exception is read (and logged), and the next call works."""
    decoder = RecordingDecoder()

    def broken_batching() -> list[object]:
        raise KeyError("batching bug")

    monkeypatch.setattr(worker, "_next_batch", broken_batching)
    outcomes, unhandled = gather_all(worker, [("m", decoder, z) for z in requests(5)])
    assert unhandled == []
    assert all(isinstance(o, KeyError) for o in outcomes)
    assert "drain loop failed" in caplog.text
    monkeypatch.undo()
    later, _ = gather_all(worker, [("m", decoder, np.ones((1, 3), np.float32))])
    np.testing.assert_array_equal(later[0], np.full((1, 1, 1, 3), 2.0))  # type: ignore[arg-type]


def test_cancelled_waiters_are_not_decoded(worker: InferenceWorker) -> None:
    """A caller that left before its batch ran (a closed connection) costs no decoding."""
    decoder = RecordingDecoder()
    slow_first, started, release = held_first_batch(decoder)

    latents = requests(4)

    async def main() -> list[object]:
        first = asyncio.ensure_future(worker.decode("m", slow_first, latents[0]))
        await asyncio.to_thread(started.wait, 10)
        rest = [asyncio.ensure_future(worker.decode("m", slow_first, z)) for z in latents[1:]]
        await asyncio.sleep(0)
        rest[1].cancel()
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[2], asyncio.CancelledError)
    np.testing.assert_array_equal(decoder.batches[1], np.concatenate([latents[1], latents[3]]))


def test_prepared_jobs_join_the_batch_and_a_failing_prepare_fails_only_its_own(
    worker: InferenceWorker,
) -> None:
    """decode_at (a drag frame): points prepared on the inference thread, one call per prepare
    function for all its jobs, decoded in the same pass as plain decodes; a prepare that
    raises reaches its own callers only."""
    decoder = RecordingDecoder()
    slow_first, started, release = held_first_batch(decoder)
    prepared: list[np.ndarray] = []

    def to_latent(points: np.ndarray) -> np.ndarray:  # (B, 2) -> (B, 3)
        prepared.append(points.copy())
        return np.column_stack([points, points.sum(axis=1)])

    def broken(points: np.ndarray) -> np.ndarray:
        raise ValueError("no inverse map here")

    points = [np.array([[float(i), 10.0 * i]], np.float32) for i in range(3)]

    async def main() -> list[object]:
        first = asyncio.ensure_future(worker.decode("m", slow_first, requests(1)[0]))
        await asyncio.to_thread(started.wait, 10)
        queued = [
            *(
                asyncio.ensure_future(worker.decode_at("m", slow_first, to_latent, p))
                for p in points
            ),
            asyncio.ensure_future(worker.decode_at("m", slow_first, broken, points[0])),
            asyncio.ensure_future(worker.decode("m", slow_first, requests(2)[1])),
        ]
        await asyncio.sleep(0)
        release.set()
        await first
        return await asyncio.gather(*queued, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert worker.batches_run == 2  # the held one, then everything else together
    assert len(prepared) == 1 and len(prepared[0]) == 3  # one prepare call for three frames
    assert len(decoder.batches[1]) == 3 + 2  # three frames and the plain decode's two rows
    for p, outcome in zip(points, outcomes[:3], strict=True):
        assert not isinstance(outcome, BaseException)
        latents, images, batch = outcome  # type: ignore[misc]
        expected = np.column_stack([p, p.sum(axis=1)])
        np.testing.assert_array_equal(latents, expected)
        np.testing.assert_array_equal(images[:, 0, 0], 2.0 * expected)
        assert batch == 5
    assert isinstance(outcomes[3], ValueError)
    np.testing.assert_array_equal(outcomes[4][:, 0, 0], 2.0 * requests(2)[1])  # type: ignore[index]

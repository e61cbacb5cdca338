"""The topology cache: concurrent first requests share one computation; a failure is retried."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from app.services import topology as service
from app.services.analysis import AnalysisPool


class CountingPool:
    """Runs the function inline after a pause, counting calls; fails the first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.calls = 0
        self.fail = fail

    async def run(self, fn: Any, *args: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(0.05)
        if self.calls <= self.fail:
            raise RuntimeError("the analysis process died")
        return fn(*args)


def fake_model() -> Any:
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(120, 3)).astype(np.float32)
    labels = np.repeat(np.arange(3), 40)
    items = SimpleNamespace(latents=latents)
    index = SimpleNamespace(items=items, labels=labels, label_names=("a", "b", "c"))
    return SimpleNamespace(name="fake", index=index, topology=None)


def test_concurrent_first_requests_share_one_computation() -> None:
    async def main() -> list[Any]:
        m, pool = fake_model(), CountingPool()
        reports = await asyncio.gather(*(service.topology(m, pool, 2000) for _ in range(8)))  # type: ignore[arg-type]
        again = await service.topology(m, pool, 2000)  # type: ignore[arg-type]
        assert pool.calls == 1 and all(r is again for r in reports)
        return reports

    reports = asyncio.run(main())
    assert reports[0].n_items == 120 and [c.n_items for c in reports[0].classes] == [40, 40, 40]


def test_a_failed_computation_is_forgotten_and_retried() -> None:
    async def main() -> None:
        m, pool = fake_model(), CountingPool(fail=1)
        with pytest.raises(RuntimeError, match="died"):
            await service.topology(m, pool, 2000)  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert m.topology is None
        report = await service.topology(m, pool, 2000)  # type: ignore[arg-type]
        assert pool.calls == 2 and report.n_items == 120

    asyncio.run(main())


def test_a_caller_that_leaves_does_not_cancel_the_computation() -> None:
    async def main() -> None:
        m, pool = fake_model(), CountingPool()
        first = asyncio.ensure_future(service.topology(m, pool, 2000))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        first.cancel()
        report = await service.topology(m, pool, 2000)  # type: ignore[arg-type]
        assert pool.calls == 1 and report.n_items == 120

    asyncio.run(main())


def test_the_analysis_pool_runs_in_another_process() -> None:
    import os

    async def main() -> int:
        pool = AnalysisPool()
        try:
            return await pool.run(os.getpid)
        finally:
            pool.close()

    assert asyncio.run(main()) != os.getpid()

"""Memory stays flat: the server's resident set after 10,000 mixed requests is within 10% of
what it was after the first 1,000 (a leak of even a few kB per request would show)."""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from tests.load.clients import Budget, Target, run_users, write_report
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.timeout(180)

USERS = 16
FIRST = 1_000
TOTAL = 10_000
KINDS = ("decode", "neighbours", "encode", "points", "thumbnail", "drag")
TOLERANCE = 0.10


def test_rss_after_ten_thousand_requests_is_within_ten_percent_of_after_one_thousand(
    server: ServerProcess, model_name: str
) -> None:
    process = psutil.Process(server.pid)
    target = asyncio.run(Target.fetch(server.base, model_name))
    start = time.perf_counter()
    first = asyncio.run(run_users(target, USERS, KINDS, Budget(requests=FIRST), seed=1))
    rss_first = process.memory_info().rss
    rest = asyncio.run(run_users(target, USERS, KINDS, Budget(requests=TOTAL - FIRST), seed=2))
    rss_total = process.memory_info().rss
    seconds = time.perf_counter() - start
    growth = rss_total / rss_first - 1.0
    write_report(
        "memory",
        {
            "users": USERS,
            "requests": first.count + rest.count,
            "seconds": round(seconds, 1),
            "requests_per_second": round((first.count + rest.count) / seconds),
            "rss_mb_after_1k": round(rss_first / 2**20, 1),
            "rss_mb_after_10k": round(rss_total / 2**20, 1),
            "growth_percent": round(100 * growth, 2),
        },
    )

    errors = first.errors + rest.errors
    assert errors == [], f"{len(errors)} errors, the first: {errors[:5]}"
    assert first.count + rest.count == TOTAL
    assert set(rest.latencies) == set(KINDS)
    assert abs(growth) <= TOLERANCE, f"RSS {rss_first:,} -> {rss_total:,} bytes"

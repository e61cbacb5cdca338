"""A class at once: 50 users on a real server, at normal priority, mixing every kind of work
the page does (decode by point and by latent, 16-step interpolations, arithmetic, neighbours,
uploads, drag frames one at a time and in fast bursts), on a freshly started server and on a
warm one. Every request is answered within ANSWER_BOUND, every drag burst gets the frame of
its last point, and the server's log shows no unread task exception.

This is the mix that lost requests when single-row decodes and multi-row paths of one model
waited in the same queue: a batch skipped a path that no longer fitted and took a later
single decode, and the bookkeeping that followed killed the batching task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.load.clients import Budget, Target, run_users, write_report
from tests.load.conftest import LOAD_INFLIGHT
from tests.serverproc import ServerProcess, running_server

pytestmark = pytest.mark.timeout(180)

USERS = 50
SECONDS = 10.0
KINDS = (
    "decode",
    "decode_latent",
    "interpolate",
    "arithmetic",
    "neighbours",
    "encode",
    "drag",
    "drag_burst",
)
FAULT_SIGNS = ("exception was never retrieved", "Traceback", "ERROR", "Task was destroyed")


@pytest.fixture
def fresh_server(workspace: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server started for this test alone: the first requests meet cold caches."""
    with running_server(workspace, tmp_path, args=["--max-inflight", str(LOAD_INFLIGHT)]) as s:
        yield s


@pytest.mark.parametrize("start", ["fresh", "warm"])
def test_fifty_users_mixing_every_kind_of_work_are_all_answered(
    start: str, request: pytest.FixtureRequest, model_name: str
) -> None:
    server: ServerProcess = request.getfixturevalue(
        "fresh_server" if start == "fresh" else "server"
    )
    assert USERS < LOAD_INFLIGHT  # no shedding here: every request must be served
    log_before = len(server.log())
    target = asyncio.run(Target.fetch(server.base, model_name))
    # No ramp and no nice: the users overlap as much as the two cores let them.
    tally = asyncio.run(run_users(target, USERS, KINDS, Budget(seconds=SECONDS), seed=7))
    summary = tally.summary()
    write_report(
        f"mixed_{start}",
        {
            "users": USERS,
            "seconds": SECONDS,
            "requests": tally.count,
            "errors": len(tally.errors),
            "unanswered": len(tally.unanswered),
            "by_kind": summary,
        },
    )

    assert tally.unanswered == [], f"{len(tally.unanswered)} lost: {tally.unanswered[:5]}"
    assert tally.errors == [], f"{len(tally.errors)} errors, the first: {tally.errors[:5]}"
    for kind in KINDS:  # every kind was exercised, many times over
        assert summary[kind]["count"] >= 20, summary
    log = server.log()[log_before:]
    for sign in FAULT_SIGNS:
        assert sign not in log, log[-3000:]

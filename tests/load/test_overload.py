"""Overload on a real server: past its in-flight limit it answers 503 at once, with the app's
error body and Retry-After, instead of queueing; what it admits is served; afterwards it
serves as before."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest

from tests.api.helpers import assert_error, encode_file
from tests.load.clients import latency_summary, write_report
from tests.load.conftest import SMALL_INFLIGHT
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.timeout(120)

REQUESTS = 24  # fired at once at a server that takes SMALL_INFLIGHT (2)
FILES = 2  # images per slow request


def slow_upload() -> bytes:
    """A 6000x6000 black PNG: 35 kB to send, 36 megapixels to decode and shrink, so each
    image keeps the server busy for a good part of a second."""
    return encode_file(np.zeros((6000, 6000), dtype=np.uint8))


async def fire(base: str, path: str, image: bytes, n: int) -> list[tuple[httpx.Response, float]]:
    """n uploads at once, each on its own connection; each answer with its latency."""
    files = [("file", (f"big{i}.png", image, "image/png")) for i in range(FILES)]
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False, limits=limits) as http:

        async def one() -> tuple[httpx.Response, float]:
            start = time.perf_counter()
            response = await http.post(path, files=files)
            return response, time.perf_counter() - start

        return await asyncio.gather(*(one() for _ in range(n)))


def test_past_the_inflight_limit_the_server_answers_503_at_once(
    small_server: ServerProcess, model_name: str
) -> None:
    path = f"/api/models/{model_name}/encode?k=3"
    image = slow_upload()
    results = asyncio.run(fire(small_server.base, path, image, REQUESTS))

    served = [seconds for response, seconds in results if response.status_code == 200]
    refused = [seconds for response, seconds in results if response.status_code == 503]
    assert len(served) + len(refused) == REQUESTS, [r.status_code for r, _ in results]
    assert len(served) >= SMALL_INFLIGHT  # what was admitted was served
    assert len(refused) >= REQUESTS // 2  # and the rest was refused, not queued
    for response, _ in results:
        if response.status_code == 503:
            assert "busy" in assert_error(response, 503, "overloaded")
            assert response.headers["retry-after"] == "1"
        else:
            assert len(response.json()["items"]) == FILES
    # "At once": every refusal came back well before the first slow request was done.
    assert max(refused) < min(served) / 2, (max(refused), min(served))

    # Afterwards the server serves as before: a full limit's worth of slow requests is
    # admitted, and a quick request too.
    after = asyncio.run(fire(small_server.base, path, image, SMALL_INFLIGHT))
    assert [response.status_code for response, _ in after] == [200] * SMALL_INFLIGHT
    decoded = httpx.post(
        f"{small_server.base}/api/models/{model_name}/decode", json={"id": 0}, trust_env=False
    )
    assert decoded.status_code == 200

    write_report(
        "overload",
        {
            "max_inflight": SMALL_INFLIGHT,
            "requests": REQUESTS,
            "served": latency_summary(served),
            "refused_503": latency_summary(refused),
        },
    )

"""Simulated users for the load tests: the requests the page makes (decode, drag frames over
the WebSocket, encode uploads, neighbours, points, thumbnails), from many asyncio clients at
once, each request timed by kind and checked; a failure is recorded, never raised, so a run
reports every error it met."""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from tests.serverproc import ROOT

REPORT = ROOT / "test-output" / "load.json"
DRAG_FRAMES_PER_SOCKET = 25  # a user's drag gesture; then the socket closes and a new one opens


@dataclass(frozen=True)
class Target:
    """What the users need to know of the server: where it is, where the items lie on the
    map (the places users click and drag), and an image to upload."""

    base: str
    model: str
    latent_dim: int
    points: np.ndarray  # (N, 2) UMAP positions of the items
    upload: bytes  # a PNG

    @property
    def api(self) -> str:
        return f"/api/models/{self.model}"

    @property
    def drag_url(self) -> str:
        return "ws" + self.base.removeprefix("http") + f"{self.api}/drag?projection=umap"

    @classmethod
    async def fetch(cls, base: str, model: str) -> Target:
        async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
            info = (await http.get(f"/api/models/{model}")).raise_for_status().json()
            points = await http.get(f"/api/models/{model}/points", params={"projection": "umap"})
            xy = points.raise_for_status().json()
            image = await http.get(f"/api/models/{model}/items/0/thumbnail")
        points_xy = np.column_stack([xy["x"], xy["y"]]).astype(np.float64)
        return cls(base, model, int(info["latent_dim"]), points_xy, image.content)

    def place(self, rng: random.Random) -> tuple[float, float]:
        """Somewhere on the map: near an item, sometimes between items."""
        x, y = self.points[rng.randrange(len(self.points))]
        return float(x) + rng.uniform(-0.3, 0.3), float(y) + rng.uniform(-0.3, 0.3)


@dataclass
class Tally:
    """Latencies (seconds) by kind of request, and every error met."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.errors)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per kind: count, p50, p99 and max in milliseconds."""
        return {kind: latency_summary(values) for kind, values in sorted(self.latencies.items())}


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "count": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


class Budget:
    """How much work a run does: a number of requests, or a duration, shared by its users."""

    def __init__(self, *, requests: int | None = None, seconds: float | None = None) -> None:
        self.left = requests
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def take(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        if self.left is not None:
            if self.left <= 0:
                return False
            self.left -= 1
        return True


class UnexpectedAnswer(Exception):
    pass


def expect(response: httpx.Response, content_type: str = "application/json") -> httpx.Response:
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        content_type
    ):
        raise UnexpectedAnswer(f"{response.status_code} {response.text[:200]}")
    return response


async def decode(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    body = {"point": list(target.place(rng)), "projection": "umap"}
    answer = expect(await http.post(f"{target.api}/decode", json=body)).json()
    if len(answer["latent"]) != target.latent_dim or not answer["image"].startswith("data:"):
        raise UnexpectedAnswer(f"decode answered {str(answer)[:200]}")


async def neighbours(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    body = {"id": rng.randrange(len(target.points)), "k": 10}
    answer = expect(await http.post(f"{target.api}/neighbors", json=body)).json()
    if len(answer["ids"]) != 10:
        raise UnexpectedAnswer(f"neighbours answered {str(answer)[:200]}")


async def encode(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    files = {"file": ("digit.png", target.upload, "image/png")}
    answer = expect(await http.post(f"{target.api}/encode", files=files)).json()
    if len(answer["items"]) != 1:
        raise UnexpectedAnswer(f"encode answered {str(answer)[:200]}")


async def points(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    projection = rng.choice(("umap", "pca"))
    answer = expect(await http.get(f"{target.api}/points", params={"projection": projection}))
    if answer.json()["count"] != len(target.points):
        raise UnexpectedAnswer("points answered the wrong count")


async def thumbnail(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    item = rng.randrange(len(target.points))
    expect(await http.get(f"{target.api}/items/{item}/thumbnail"), "image/png")


HTTP_KINDS: dict[str, Callable[[httpx.AsyncClient, Target, random.Random], Awaitable[None]]] = {
    "decode": decode,
    "neighbours": neighbours,
    "encode": encode,
    "points": points,
    "thumbnail": thumbnail,
}


async def open_drag(target: Target) -> ClientConnection:
    # proxy=None: loopback is never proxied; no pings: a run is shorter than a ping interval.
    return await connect(target.drag_url, proxy=None, ping_interval=None, open_timeout=10)


async def drag_frame(ws: ClientConnection, x: float, y: float, seq: int) -> dict[str, Any]:
    """Send one point and wait for its frame (one point at a time: nothing is dropped)."""
    await ws.send(json.dumps({"x": x, "y": y, "seq": seq}))
    frame: dict[str, Any] = json.loads(await ws.recv())
    if frame.get("seq") != seq or not str(frame.get("image", "")).startswith("data:"):
        raise UnexpectedAnswer(f"drag answered {str(frame)[:200]}")
    return frame


async def user(
    target: Target,
    http: httpx.AsyncClient,
    kinds: Sequence[str],
    budget: Budget,
    tally: Tally,
    seed: int,
    delay: float = 0.0,
) -> None:
    """One user doing random kinds of work, from ``delay`` seconds on until the budget runs
    out."""
    rng = random.Random(seed)
    ws: ClientConnection | None = None
    frames = 0
    await asyncio.sleep(delay)
    try:
        while budget.take():
            kind = rng.choice(kinds)
            try:
                if kind == "drag":
                    if ws is None or frames >= DRAG_FRAMES_PER_SOCKET:
                        if ws is not None:
                            await ws.close()
                        ws, frames = await open_drag(target), 0
                    start = time.perf_counter()
                    await drag_frame(ws, *target.place(rng), seq=frames)
                    frames += 1
                else:
                    start = time.perf_counter()
                    await HTTP_KINDS[kind](http, target, rng)
            except Exception as exc:  # recorded: a run reports every error, not the first
                tally.errors.append(f"{kind}: {exc!r}"[:300])
                if kind == "drag" and ws is not None:
                    await ws.close()
                    ws = None
            else:
                tally.latencies[kind].append(time.perf_counter() - start)
    finally:
        if ws is not None:
            await ws.close()


async def run_users(
    target: Target,
    users: int,
    kinds: Sequence[str],
    budget: Budget,
    seed: int = 0,
    ramp: float = 0.0,
) -> Tally:
    """``users`` concurrent users sharing one budget, arriving evenly over the first ``ramp``
    seconds (people do not all click in the same millisecond). Each has a client and a
    connection of its own, as each browser tab has: one client shared by 50 tasks spends its
    time in its own connection pool (115 against 305 requests/s in a run on 2 cores)."""
    tally = Tally()
    # One TLS context for every client (the URLs are plain http, but each client would load
    # the CA bundle for its own: 50 ms of CPU apiece).
    tls = ssl.create_default_context()

    async def one(i: int) -> None:
        async with httpx.AsyncClient(
            base_url=target.base, timeout=30, trust_env=False, verify=tls
        ) as http:
            await user(target, http, kinds, budget, tally, seed * 1000 + i, i * ramp / users)

    await asyncio.gather(*(one(i) for i in range(users)))
    return tally


def write_report(section: str, figures: dict[str, Any], path: Path = REPORT) -> None:
    """Keep a run's figures in test-output/load.json (one section per test) for the README."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        report = {}
    report[section] = figures
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{section}: {json.dumps(figures, indent=2)}")

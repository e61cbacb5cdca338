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

from app.services.drag import parse_frame_binary
from tests.serverproc import ROOT

REPORT = ROOT / "test-output" / "load.json"
DRAG_FRAMES_PER_SOCKET = 25  # a user's drag gesture; then the socket closes and a new one opens
ANSWER_BOUND = 30.0  # seconds: a request without an answer by then counts as lost
BURST_POINTS = 8  # points a drag burst sends without waiting, as a fast hand does
BURST_GAP = 0.004  # seconds between them
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Target:
    """What the users need to know of the server: where it is, where the items lie on the
    map (the places users click and drag), and an image to upload."""

    base: str
    model: str
    latent_dim: int
    points: np.ndarray  # (N, 2) UMAP positions of the items
    upload: bytes  # a PNG
    attributes: tuple[str, ...] = ()  # attribute ids, for arithmetic

    @property
    def api(self) -> str:
        return f"/api/models/{self.model}"

    @property
    def drag_url(self) -> str:
        # Binary frames, as the page asks for them.
        return (
            "ws" + self.base.removeprefix("http") + f"{self.api}/drag?projection=umap&frames=binary"
        )

    @classmethod
    async def fetch(cls, base: str, model: str) -> Target:
        async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as http:
            info = (await http.get(f"/api/models/{model}")).raise_for_status().json()
            points = await http.get(f"/api/models/{model}/points", params={"projection": "umap"})
            xy = points.raise_for_status().json()
            image = await http.get(f"/api/models/{model}/items/0/thumbnail")
            listed = await http.get(f"/api/models/{model}/attributes")
        points_xy = np.column_stack([xy["x"], xy["y"]]).astype(np.float64)
        attributes = tuple(a["id"] for a in listed.raise_for_status().json()["attributes"])
        return cls(base, model, int(info["latent_dim"]), points_xy, image.content, attributes)

    def latent(self, rng: random.Random) -> list[float]:
        return [rng.gauss(0.0, 1.0) for _ in range(self.latent_dim)]

    def place(self, rng: random.Random) -> tuple[float, float]:
        """Somewhere on the map: near an item, sometimes between items."""
        x, y = self.points[rng.randrange(len(self.points))]
        return float(x) + rng.uniform(-0.3, 0.3), float(y) + rng.uniform(-0.3, 0.3)


@dataclass
class Tally:
    """Latencies (seconds) by kind of request, and every error met."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # no answer within ANSWER_BOUND

    @property
    def count(self) -> int:
        return (
            sum(len(v) for v in self.latencies.values()) + len(self.errors) + len(self.unanswered)
        )

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


async def decode_latent(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    body = {"latent": target.latent(rng)}
    answer = expect(await http.post(f"{target.api}/decode", json=body)).json()
    if not str(answer["image"]).startswith("data:"):
        raise UnexpectedAnswer(f"decode by latent answered {str(answer)[:200]}")


async def interpolate(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    """A path of 16 slerp steps: one multi-row decode, next to other users' single rows."""
    n = len(target.points)
    body = {
        "start": {"id": rng.randrange(n)},
        "end": {"point": list(target.place(rng)), "projection": "umap"},
        "steps": 16,
        "method": "slerp",
    }
    answer = expect(await http.post(f"{target.api}/interpolate", json=body)).json()
    if len(answer["images"]) != 16 or not all(str(i).startswith("data:") for i in answer["images"]):
        raise UnexpectedAnswer(f"interpolate answered {str(answer)[:200]}")


async def arithmetic(http: httpx.AsyncClient, target: Target, rng: random.Random) -> None:
    term: dict[str, Any] = {"vector": target.latent(rng), "weight": 0.5}
    if target.attributes and rng.random() < 0.5:
        term = {"attribute": rng.choice(target.attributes), "weight": rng.uniform(-2, 2)}
    body = {"start": {"id": rng.randrange(len(target.points))}, "terms": [term], "k": 5}
    answer = expect(await http.post(f"{target.api}/arithmetic", json=body)).json()
    if len(answer["neighbours"]["ids"]) != 5 or not str(answer["image"]).startswith("data:"):
        raise UnexpectedAnswer(f"arithmetic answered {str(answer)[:200]}")


HTTP_KINDS: dict[str, Callable[[httpx.AsyncClient, Target, random.Random], Awaitable[None]]] = {
    "decode": decode,
    "decode_latent": decode_latent,
    "interpolate": interpolate,
    "arithmetic": arithmetic,
    "neighbours": neighbours,
    "encode": encode,
    "points": points,
    "thumbnail": thumbnail,
}


async def open_drag(target: Target) -> ClientConnection:
    # proxy=None: loopback is never proxied; no pings: a run is shorter than a ping interval.
    return await connect(target.drag_url, proxy=None, ping_interval=None, open_timeout=10)


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    """The next binary frame's header, once its image is checked to be a PNG; an error (JSON
    text) or anything else is an UnexpectedAnswer."""
    message = await ws.recv()
    if isinstance(message, str):
        raise UnexpectedAnswer(f"drag answered text {message[:200]}")
    header, image = parse_frame_binary(message)
    if header.get("image_type") != "image/png" or not image.startswith(PNG_SIGNATURE):
        raise UnexpectedAnswer(f"drag frame without a PNG: {str(header)[:200]}")
    return header


async def drag_frame(ws: ClientConnection, x: float, y: float, seq: int) -> dict[str, Any]:
    """Send one point and wait for its frame (one point at a time: nothing is dropped)."""
    await ws.send(json.dumps({"x": x, "y": y, "seq": seq}))
    frame = await next_frame(ws)
    if frame.get("seq") != seq:
        raise UnexpectedAnswer(f"drag answered {str(frame)[:200]}")
    return frame


async def drag_burst(ws: ClientConnection, target: Target, rng: random.Random, seq: int) -> int:
    """A fast hand: BURST_POINTS points sent without waiting, then frames read until the last
    point's frame arrives. The server may skip superseded points (latest wins) but must answer
    in order and always for the last point. Returns the next seq."""
    first = seq
    for _ in range(BURST_POINTS):
        x, y = target.place(rng)
        await ws.send(json.dumps({"x": x, "y": y, "seq": seq}))
        seq += 1
        await asyncio.sleep(BURST_GAP)
    last, seen = seq - 1, first - 1
    while seen != last:
        frame = await next_frame(ws)
        got = frame.get("seq")
        if not isinstance(got, int) or not first <= got <= last or got <= seen:
            raise UnexpectedAnswer(
                f"drag burst {first}..{last} after {seen} got {str(frame)[:200]}"
            )
        seen = got
    return seq


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
                if kind in ("drag", "drag_burst"):
                    if ws is None or frames >= DRAG_FRAMES_PER_SOCKET:
                        if ws is not None:
                            await ws.close()
                        ws, frames = await open_drag(target), 0
                    start = time.perf_counter()
                    if kind == "drag":
                        await asyncio.wait_for(
                            drag_frame(ws, *target.place(rng), seq=frames), ANSWER_BOUND
                        )
                        frames += 1
                    else:
                        frames = await asyncio.wait_for(
                            drag_burst(ws, target, rng, frames), ANSWER_BOUND
                        )
                else:
                    start = time.perf_counter()
                    await asyncio.wait_for(HTTP_KINDS[kind](http, target, rng), ANSWER_BOUND)
            except (TimeoutError, httpx.TimeoutException) as exc:
                tally.unanswered.append(f"{kind}: no answer within {ANSWER_BOUND:g}s ({exc!r})")
                if ws is not None and kind.startswith("drag"):
                    await ws.close()
                    ws = None
            except Exception as exc:  # recorded: a run reports every error, not the first
                tally.errors.append(f"{kind}: {exc!r}"[:300])
                if kind.startswith("drag") and ws is not None:
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
            base_url=target.base, timeout=ANSWER_BOUND, trust_env=False, verify=tls
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

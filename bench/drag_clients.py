"""Drag streams as a class makes them, from a process of their own (``python -m
bench.drag_clients URL MODEL --streams 30 --seconds 5``): each stream sends its next point along
the drag path as soon as its frame comes back, over ``?frames=binary`` as the page does. Prints
one JSON object: per stream its frames and their round-trip times, and each frame's ``batch``
(the images in the forward pass that made it).

The bench runs this in a separate process so that the clients' own work (JSON, sockets, the
event loop) is not charged to the server's process; they still share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from app.services.drag import parse_frame_binary
from bench.drag import PROJECTION, drag_path

PATH_POINTS = 600  # points along the path; stream i starts i / streams of the way along


async def stream(
    url: str, path: np.ndarray, offset: int, warmup_until: float, until: float
) -> dict[str, Any]:
    """One stream, send-and-wait until ``until``; frames before ``warmup_until`` untimed."""
    from websockets.asyncio.client import connect

    latencies: list[int] = []
    batches: list[int] = []
    seq = 0
    # compression=None: the page's browser would offer deflate; the server declines it anyway.
    async with connect(url, proxy=None, ping_interval=None, compression=None) as ws:
        while (now := time.perf_counter()) < until:
            x, y = path[(offset + seq) % len(path)]
            start = time.perf_counter_ns()
            await ws.send(json.dumps({"x": float(x), "y": float(y), "seq": seq}))
            message = await ws.recv()
            took = time.perf_counter_ns() - start
            if isinstance(message, str):
                raise RuntimeError(f"the drag stream answered text: {message[:200]}")
            header, png = parse_frame_binary(message)
            if header["seq"] != seq or not png:
                raise RuntimeError(f"frame {header} for point {seq}")
            if now >= warmup_until:
                latencies.append(took)
                batches.append(int(header.get("batch", 1)))
            seq += 1
    return {"latencies_ns": latencies, "batches": batches}


async def run(base: str, model: str, streams: int, seconds: float, warmup: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as http:
        points = (await http.get(f"/api/models/{model}/points?projection={PROJECTION}")).json()
    path = drag_path(np.column_stack([points["x"], points["y"]]), PATH_POINTS)
    url = (
        "ws"
        + base.removeprefix("http")
        + (f"/api/models/{model}/drag?projection={PROJECTION}&frames=binary")
    )
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            stream(url, path, i * PATH_POINTS // streams, start + warmup, start + warmup + seconds)
            for i in range(streams)
        )
    )
    return {"streams": list(results), "seconds": seconds}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drag_clients")
    parser.add_argument("base", help="the server, http://127.0.0.1:PORT")
    parser.add_argument("model")
    parser.add_argument("--streams", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.base, args.model, args.streams, args.seconds, args.warmup))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

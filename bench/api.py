"""The API over real HTTP and WebSocket on loopback: encode, drag stream and server start.

Each figure has a floor measured against the same server in the same run: GET /api/health for
an HTTP request, a rejected drag point for a WebSocket round trip, `import torch` for start-up.
The ratio then says how many floors a figure costs, which survives a noisy machine better than
the absolute time does. Start-up is measured twice: warm (a workspace with a trained, indexed
model) and cold (an empty workspace: `python -m app run` trains the default model first).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.drag import PROJECTION, drag_path
from bench.server import HOST, Server, running_server
from bench.stats import BenchError, Figure, Stats

GOAL_ENCODE_MS = 25.0  # the target for encoding one uploaded 28x28 PNG
GOAL_START_S = 3.0  # ... and for a server start with a warm workspace
COLD_TIMEOUT_S = 1200.0  # a cold start trains a model: a minute or two, more on a busy machine
API_GROUPS = ("encode", "ws", "start", "cold")


@dataclass(frozen=True)
class ApiConfig:
    encode_reps: int = 200
    warmup: int = 10
    ws_seconds: float = 3.0  # how long the send-and-wait drag loop runs
    ws_baseline_reps: int = 200
    starts: int = 3  # timed server starts (each also times one `import torch`)
    cold_starts: int = 1  # timed cold starts: each trains the default model (about a minute)
    server_threads: int | None = None  # the server's --threads; None: its default (all cores)


def bench_api(
    workspace: Path, model: str, config: ApiConfig, groups: set[str], log_dir: Path
) -> list[Figure]:
    """Run the selected API groups ("encode", "ws", "start", "cold") against real servers."""
    figures: list[Figure] = []
    log_path = log_dir / "server.log"
    if groups & {"encode", "ws"}:
        # This first start also brings the workspace into the page cache for the timed ones.
        with running_server(workspace, model, log_path, threads=config.server_threads) as server:
            if "encode" in groups:
                figures.append(_encode_figure(server, model, config))
            if "ws" in groups:
                figures.append(_ws_figure(server, model, config))
    if "start" in groups:
        figures.append(_start_figure(workspace, model, config, log_path))
    if "cold" in groups:
        figures.append(_cold_start_figure(config, log_dir))
    return figures


def digit_png(size: int = 28) -> bytes:
    """A hand-drawn-looking zero: a soft white ring on black, MNIST's size and polarity."""
    from PIL import Image

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = np.hypot((xx - size / 2 + 0.5) / 0.75, yy - size / 2 + 0.5)  # an upright ellipse
    ring = np.clip(2.5 - np.abs(r - size * 0.3), 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray((ring * 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _encode_figure(server: Server, model: str, config: ApiConfig) -> Figure:
    """POST one 28x28 PNG to /encode on a keep-alive client, interleaved with GET /health."""
    png = digit_png()
    path = f"/api/models/{model}/encode"
    files = {"file": ("digit.png", png, "image/png")}
    encode_ns, health_ns = [], []
    clock = time.perf_counter_ns
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for i in range(config.warmup + config.encode_reps):
            t0 = clock()
            health = client.get("/api/health")
            t1 = clock()
            encoded = client.post(path, files=files)
            t2 = clock()
            _expect(health, "health")
            _expect(encoded, "encode")
            if i >= config.warmup:
                health_ns.append(t1 - t0)
                encode_ns.append(t2 - t1)
        item = encoded.json()["items"][0]
    return Figure(
        "encode_http",
        "encode",
        "encode a 28×28 PNG: POST /api/models/{m}/encode over loopback HTTP (k=8)",
        Stats.of_ns(encode_ns, "ms"),
        baseline_label="GET /api/health, same keep-alive client",
        baseline=Stats.of_ns(health_ns, "ms"),
        ratio_kind="multiple",
        goal_p50=GOAL_ENCODE_MS,
        details={
            "png_bytes": len(png),
            "latent_dim": len(item["latent"]),
            "neighbours": len(item["neighbours"]["ids"]) if item.get("neighbours") else 0,
        },
    )


def _ws_figure(server: Server, model: str, config: ApiConfig) -> Figure:
    """Send a drag point, wait for its frame, repeat for `ws_seconds`: the frame rate one
    client gets when it never has more than one point in flight."""
    try:
        from websockets.sync.client import connect
    except ImportError as exc:  # installed with uvicorn[standard]
        raise BenchError("the websockets package is needed for the drag stream figure") from exc

    points = httpx.get(
        f"{server.url}/api/models/{model}/points?projection={PROJECTION}", timeout=30
    )
    _expect(points, "points")
    body = points.json()
    path = drag_path(np.column_stack([body["x"], body["y"]]), 1000)
    url = f"ws://{HOST}:{server.port}/api/models/{model}/drag?projection={PROJECTION}"
    frame_ns, floor_ns = [], []
    clock = time.perf_counter_ns
    with connect(url, open_timeout=10, close_timeout=2, max_size=1 << 22) as ws:

        def round_trip(message: dict[str, Any]) -> dict[str, Any]:
            ws.send(json.dumps(message))
            reply: dict[str, Any] = json.loads(ws.recv(timeout=10))
            return reply

        for seq in range(config.warmup):
            round_trip({"x": float(path[seq, 0]), "y": float(path[seq, 1]), "seq": seq})
        start = time.perf_counter()
        deadline = start + config.ws_seconds
        seq = 0
        while time.perf_counter() < deadline:
            x, y = path[seq % len(path)]
            t0 = clock()
            reply = round_trip({"x": float(x), "y": float(y), "seq": seq})
            frame_ns.append(clock() - t0)
            if reply.get("seq") != seq or not str(reply.get("image", "")).startswith("data:"):
                raise BenchError(f"drag stream answered {str(reply)[:200]} to point {seq}")
            seq += 1
        elapsed = time.perf_counter() - start
        # The floor: a point the server rejects while parsing, so no frame is computed.
        for _ in range(config.ws_baseline_reps):
            t0 = clock()
            reply = round_trip({"x": None, "y": None, "seq": -1})
            floor_ns.append(clock() - t0)
            if "error" not in reply:
                raise BenchError(f"drag stream accepted a point without x and y: {reply}")
    rate = len(frame_ns) / elapsed
    return Figure(
        "drag_ws",
        "ws",
        f"drag over the WebSocket, send point and wait for its frame: {rate:,.0f} frames/s",
        Stats.of_ns(frame_ns, "ms"),
        baseline_label="WebSocket round trip of a rejected point (no frame)",
        baseline=Stats.of_ns(floor_ns, "ms"),
        ratio_kind="multiple",
        details={"frames": len(frame_ns), "seconds": elapsed, "frames_per_second": rate},
    )


def _start_figure(workspace: Path, model: str, config: ApiConfig, log_path: Path) -> Figure:
    """Spawn-to-healthy time of the server, alternated with `python -c "import torch"`."""
    starts, imports = [], []
    for _ in range(config.starts):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=120)
        imports.append(time.perf_counter() - begin)
        with running_server(workspace, model, log_path, threads=config.server_threads) as server:
            starts.append(server.start_seconds)
    return Figure(
        "server_start",
        "start",
        'server start, warm workspace: spawn `python -m app serve` → /api/health "ok"',
        Stats.of(starts, "s"),
        baseline_label='`python -c "import torch"`',
        baseline=Stats.of(imports, "s"),
        ratio_kind="multiple",
        goal_p50=GOAL_START_S,
        details={"starts_seconds": starts, "import_torch_seconds": imports},
    )


def _cold_start_figure(config: ApiConfig, log_dir: Path) -> Figure:
    """Spawn-to-healthy time of `python -m app run` on an empty workspace (it trains and indexes
    the default model, then serves), alternated with `python -c "import torch"`."""
    starts, imports, trained = [], [], []
    log_path = log_dir / "server-cold.log"
    for _ in range(config.cold_starts):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=120)
        imports.append(time.perf_counter() - begin)
        workspace = fresh_workspace(log_dir)
        try:
            with running_server(
                workspace,
                None,
                log_path,
                threads=config.server_threads,
                timeout=COLD_TIMEOUT_S,
                command_name="run",
            ) as server:
                starts.append(server.start_seconds)
            trained.append(_training_facts(workspace))
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
    runs = "" if config.cold_starts > 1 else ", 1 run"
    return Figure(
        "server_cold_start",
        "cold",
        "cold start, empty workspace: spawn `python -m app run` (trains and indexes the default "
        f'model) → /api/health "ok"{runs}',
        Stats.of(starts, "s"),
        baseline_label='`python -c "import torch"`',
        baseline=Stats.of(imports, "s"),
        ratio_kind="multiple",
        details={"starts_seconds": starts, "import_torch_seconds": imports, "models": trained},
    )


def fresh_workspace(parent: Path) -> Path:
    """A new, empty workspace folder under `parent` (the caller removes it)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="cold-workspace-", dir=parent))


def _training_facts(workspace: Path) -> dict[str, Any]:
    """What the cold start built: each model's training and index-build seconds."""
    facts: dict[str, Any] = {}
    for config_path in sorted(workspace.glob("*/config.json")):
        config = json.loads(config_path.read_text())
        manifest_path = config_path.parent / "index" / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        timings = manifest.get("timings", {})
        facts[config_path.parent.name] = {
            "train_seconds": config.get("training", {}).get("seconds"),
            "index_seconds": sum(timings.values()) if timings else None,
            "index_timings": timings,
        }
    return facts


def _expect(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise BenchError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")

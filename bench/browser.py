"""The page in a real Chromium: time to a drawn, interactive map, and drag frames per second.

The large case is a 70,000-point shapes model, trained once (two epochs: the page's speed does
not depend on how well the model reconstructs) into bench/out/workspace-70k. The baseline is
the same measurement on the default digits model (1,797 points) in the same run, so the ratio
says what the extra points cost the page.

The million-point case is synthetic: copies of the 70,000 items with jittered latents and map
positions (bench/synthetic.py, written once into bench/out/workspace-1m), labelled so in every
figure. On it the page draws a capped sample (static/js/map.js DRAW_CAP); besides the time to
an interactive map it measures a zoom (the view's points redrawn at full detail) and, in the
page, fetching and reading the binary points form against the JSON form (same run, same
server, alternating). With thumbnails shown in place of dots on the 70,000-point map, a pan
and a scroll zoom are timed too (bench/browser_thumbs.py).

Each page load uses a fresh browser context (empty cache and storage, as a first visit). The
time runs from navigation start until the page is interactive: both of its own signals are set
(``#map[data-ready]``: Plotly has drawn every point; ``body[data-ready]``: the panels are wired)
and the main thread has then been free of long tasks for a second; the figure is the end of
the last long task (Lighthouse's time-to-interactive, with a shorter quiet window). The drag is
a real mouse (Playwright's CDP input), moved 60 times a second for five seconds; its figure is
the time per frame the drag stream delivered, which cannot beat the pace of the moves.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.browser_scripts import (
    DRAG_START,
    DRAG_STOP,
    FORMS,
    LOAD_FACTS,
    PLOT_BOX,
    PROBE_SCRIPT,
    ZOOM,
)
from bench.server import Server, running_server
from bench.stats import BenchError, Figure, Stats
from bench.synthetic import ensure_synthetic

GOAL_READY_S = 3.0  # the issue: the 70,000-point map interactive within 3 s
GOAL_DRAG_FPS = 30.0  # ... and dragging on it at 30 frames a second or more
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1280, "height": 800}
WAIT_MS = 60_000  # any single wait in the page; a 70k map on a busy 2-core box takes seconds
MOVE_HZ = 60.0  # the pointer's pace: a display's frame rate
QUIET_MS = 1000  # main thread free this long after the ready signals: the page is interactive


@dataclass(frozen=True)
class BrowserConfig:
    loads: int = 3  # page loads per model, each in a fresh context; one drag after each
    drag_seconds: float = 5.0  # the scripted drag
    points_reps: int = 5  # warm GET /points requests (after one cold one that serialises)
    items: int = 70_000  # the large map
    latent_dim: int = 10
    epochs: int = 2  # enough for a model whose page is being timed, not its quality
    server_threads: int | None = None  # the server's --threads; None: its default
    million: int = 1_000_000  # the synthetic map's size (0: leave that case out)
    form_reps: int = 3  # in-page fetch + read of each points form on the synthetic map


@dataclass(frozen=True)
class PageRun:
    """One model's measurements: one record per page load and per drag, and GET /points."""

    model: str
    count: int  # points on the map
    loads: list[dict[str, Any]]  # _load's records
    drags: list[dict[str, Any]]  # _drag's records
    points_ms: list[float]  # warm GET /points?format=binary (what the page loads) over loopback
    points: dict[str, Any]  # its size and the cold request
    json_ms: list[float]  # the same for the JSON form
    json: dict[str, Any]
    zooms: list[dict[str, Any]]  # ZOOM's records (empty unless asked for)
    forms: dict[str, Any] | None  # FORMS' record (None unless asked for)

    def stats(self, key: str, unit: str, of: str = "loads") -> Stats:
        return Stats.of([record[key] for record in getattr(self, of)], unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "points": self.points,
            "json": self.json,
            "loads": self.loads,
            "zooms": self.zooms,
        }


def bench_browser(
    small_workspace: Path,
    small_model: str,
    big_workspace: Path,
    config: BrowserConfig,
    out_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Build the large model (and its synthetic million-item copy) if missing, then time the
    maps in Chromium."""
    big_model, build = ensure_big_model(big_workspace, config, say)
    million_workspace = out_dir / "workspace-1m"
    million_model, synthetic = (
        ensure_synthetic(big_workspace / big_model, million_workspace, config.million, say)
        if config.million
        else (None, {})
    )
    with chromium() as browser:
        say(f"browser: {small_model} (baseline)")
        small = _measure(browser, small_workspace, small_model, config, out_dir, None)
        say(f"browser: {big_model}, {config.items:,} points")
        big = _measure(browser, big_workspace, big_model, config, out_dir, out_dir / "map-70k.png")
        from bench.browser_thumbs import measure_thumbnails  # it imports this module

        say(f"browser: {big_model}, thumbnails shown: a pan and a scroll zoom")
        thumbs = measure_thumbnails(browser, big_workspace, big_model, out_dir, config.loads)
        million = None
        if million_model is not None:
            say(f"browser: {million_model}, {config.million:,} points (synthetic)")
            million = _measure(
                browser,
                million_workspace,
                million_model,
                config,
                out_dir,
                out_dir / "map-1m.png",
                large=True,
            )
    from bench.browser_thumbs import thumbnail_figures

    figures = _figures(small, big, build, config)
    figures += thumbnail_figures(thumbs, f"{big.count:,}-point map")
    if million is not None:
        figures += _million_figures(small, million, synthetic)
    return figures


def ensure_big_model(
    workspace: Path, config: BrowserConfig, say: Callable[[str], None]
) -> tuple[str, dict[str, Any]]:
    """Train the large shapes model and build its index unless they are there; returns its
    name and how long each part took (from its checkpoint and index manifest)."""
    import torch

    from app.index.ensure import ensure_index
    from app.index.fitting import IndexParams
    from app.index.store import read_manifest
    from app.services.training import TrainRequest, train_model
    from app.workspace import index_dir, list_models, model_name
    from models.registry import load_checkpoint
    from models.training import TrainConfig

    device = torch.device("cpu")
    name = model_name("shapes", "vae", config.latent_dim)
    folder = workspace / name
    started = time.perf_counter()
    built = False
    if name not in list_models(workspace):
        say(f"browser: training {name} on {config.items:,} shapes into {workspace} (minutes)")
        request = TrainRequest(
            dataset="shapes",
            size=config.items,
            latent_dim=config.latent_dim,
            train=TrainConfig(epochs=config.epochs, progress=True),
        )
        train_model(request, workspace, device)
        built = True
    elif read_manifest(index_dir(folder)) is None:  # trained, but the index build was cut short
        say(f"browser: building the index of {name} (minutes)")
        model, info = load_checkpoint(folder, device)
        ensure_index(folder, model, info, IndexParams(), device)
        built = True
    return name, _build_facts(folder, time.perf_counter() - started if built else None)


def _build_facts(folder: Path, wall_seconds: float | None) -> dict[str, Any]:
    import json

    config = json.loads((folder / "config.json").read_text())
    manifest = json.loads((folder / "index" / "manifest.json").read_text())
    training = config.get("training", {})
    return {
        "n_items": manifest["n_items"],
        "train_seconds": training.get("seconds"),
        "train_epochs": training.get("epochs_run"),
        "train_images_per_second": training.get("images_per_second"),
        "index_seconds": manifest.get("timings", {}),
        "built_this_run_seconds": wall_seconds,  # None: the workspace was already there
    }


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (whose own browsers are not used)."""
    executable = shutil.which("chromium")
    if executable is None:
        raise BenchError("the browser benchmark needs Chromium: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BenchError("the browser benchmark needs playwright (the test extra)") from exc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _measure(
    browser: Any,
    workspace: Path,
    model: str,
    config: BrowserConfig,
    out_dir: Path,
    screenshot: Path | None,
    large: bool = False,
) -> PageRun:
    """Page loads (and drags) on one model; on the `large` one also zooms and both forms."""
    log_path = out_dir / "server.log"
    with running_server(workspace, model, log_path, threads=config.server_threads) as server:
        points_ms: list[float] = []
        points = _time_points(server, model, config, points_ms, "binary")
        json_ms: list[float] = []
        as_json = _time_points(server, model, config, json_ms, "json")
        visits = [
            _visit(browser, server, config, screenshot if i == 0 else None, zoom=large)
            for i in range(config.loads)
        ]
        forms = _forms(browser, server, model, config.form_reps) if large else None
    loads = [load for load, _, _ in visits]
    zooms = [zoom for _, _, zoom in visits if zoom is not None]
    drags = [drag for _, drag, _ in visits]
    return PageRun(
        model, loads[0]["count"], loads, drags, points_ms, points, json_ms, as_json, zooms, forms
    )


@contextmanager
def first_visit(browser: Any, server: Server) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A fresh context's page with the explorer loaded (and the load's figures); raises
    BenchError at the end if the page reported any error meanwhile."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, _load(page, server)
        if errors:
            raise BenchError(f"the page reported errors: {errors[:5]}")
    finally:
        context.close()


def _visit(
    browser: Any, server: Server, config: BrowserConfig, screenshot: Path | None, zoom: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """One first visit in a fresh context: load the page, zoom in and out, drag on its map."""
    with first_visit(browser, server) as (page, load):
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        zoomed = page.evaluate(ZOOM) if zoom else None
        drag = _drag(page, config.drag_seconds)
    return load, drag, zoomed


def _forms(browser: Any, server: Server, model: str, reps: int) -> dict[str, Any]:
    """FORMS in a page of the app that has no map of its own to draw (the health answer)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS * 4)
        page.goto(server.url + "/api/health")
        result: dict[str, Any] = page.evaluate(FORMS, [model, reps])
        return result
    finally:
        context.close()


def _time_points(
    server: Server, model: str, config: BrowserConfig, out: list[float], form: str
) -> Any:
    """GET /points in one form: once cold (the server serialises and caches it), then
    `points_reps` warm."""
    path = f"/api/models/{model}/points?projection=umap&format={form}"
    with httpx.Client(base_url=server.url, timeout=300.0) as client:
        cold = None
        size = 0
        for i in range(config.points_reps + 1):
            start = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            size = len(response.content)
            if i == 0:
                cold = elapsed * 1000
            else:
                out.append(elapsed * 1000)
    return {"bytes": size, "cold_ms": cold}


def _load(page: Any, server: Server) -> dict[str, Any]:
    """Open the page and wait for its map; the times come from the page's own clock."""
    page.add_init_script(PROBE_SCRIPT)
    page.goto(server.url + "/", wait_until="commit")
    interactive = page.wait_for_function(
        "(quiet) => window.__bench && window.__bench.settled(quiet)", arg=QUIET_MS
    ).json_value()
    facts = page.evaluate(LOAD_FACTS)
    # Every point, or past the page's cap a sample of exactly the cap.
    if facts["drawn_points"] != min(facts["count"], facts["cap"]):
        raise BenchError(
            f"the map drew {facts['drawn_points']} of {facts['count']} points "
            f"(cap {facts['cap']:,})"
        )
    marks = facts["marks"]
    points_start, points_end, points_bytes = facts["points_request"]
    plotly_end, plotly_bytes = facts["plotly_request"]
    return {
        "ready_s": interactive / 1000,
        "points_at_s": points_end / 1000,
        "drawn_after_points_s": (marks["map_drawn"] - points_end) / 1000,
        "settled_after_drawn_s": (interactive - marks["map_drawn"]) / 1000,
        "marks_ms": {k: round(v) for k, v in marks.items()} | {"interactive": round(interactive)},
        "points_request_ms": [round(points_start), round(points_end)],
        "points_bytes": points_bytes,
        "plotly_loaded_ms": round(plotly_end),
        "plotly_bytes": plotly_bytes,
        "trace_type": facts["trace_type"],
        "count": facts["count"],
        "drawn_points": facts["drawn_points"],
        "long_tasks_ms": [[round(start), round(d)] for start, d in facts["long_tasks"]],
    }


def _drag(page: Any, seconds: float) -> dict[str, Any]:
    """Press on the map, move the mouse along a loop at ~60 Hz for `seconds`, release."""
    box = page.evaluate(PLOT_BOX)

    def at(t: float) -> tuple[float, float]:  # a Lissajous loop over the middle of the map
        fx = 0.5 + 0.35 * np.sin(2 * np.pi * t / 2.5)
        fy = 0.5 + 0.3 * np.sin(2 * np.pi * t / 1.6)
        return box["x"] + fx * box["w"], box["y"] + fy * box["h"]

    page.mouse.move(*at(0.0))
    page.evaluate(DRAG_START)
    page.mouse.down()
    start = time.perf_counter()
    moves = 0
    while (t := time.perf_counter() - start) < seconds:
        page.mouse.move(*at(t))
        moves += 1
        pause = start + moves / MOVE_HZ - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    probe = page.evaluate(DRAG_STOP)
    page.mouse.up()
    # The release decodes the last place once more: wait for it, so the next load starts idle.
    page.wait_for_function(
        "() => !document.querySelector('#preview-sub').textContent.includes('dragging')"
    )
    frames = probe["frames"]
    gaps = np.diff(frames) if len(frames) > 1 else np.array([0.0])
    return {
        "seconds": probe["seconds"],
        "frame_ms": 1000 * probe["seconds"] / max(len(frames), 1),
        "moves": moves,
        "frames": len(frames),
        "fps": len(frames) / probe["seconds"],
        "page_fps": probe["paints"] / probe["seconds"],
        "frame_gap_ms": {
            "p50": float(np.percentile(gaps, 50)),
            "p90": float(np.percentile(gaps, 90)),
            "max": float(gaps.max()),
        },
        "long_tasks_ms": [round(d) for d in probe["long_tasks_ms"]],
        "readout": probe["readout"],
    }


def _figures(
    small: PageRun, big: PageRun, build: dict[str, Any], config: BrowserConfig
) -> list[Figure]:
    n = f"{big.count:,}"
    base = f"{small.model}, {small.count:,} points"

    def figure(key: str, label: str, field: str, unit: str, of: str = "loads", **kw: Any) -> Figure:
        return Figure(
            f"browser_{key}",
            "browser",
            label,
            big.stats(field, unit, of),
            baseline_label=base,
            baseline=small.stats(field, unit, of),
            ratio_kind="multiple",
            **kw,
        )

    drag_fps = 1000 / big.stats("frame_ms", "ms", "drags").p50
    points_mb = big.points["bytes"] / 1e6
    json_mb = big.json["bytes"] / 1e6
    return [
        figure(
            "ready",
            f"map of {n} points drawn and interactive in Chromium: navigation start → every "
            f"point drawn, page ready and the main thread then free for {QUIET_MS} ms",
            "ready_s",
            "s",
            goal_p50=GOAL_READY_S,
            details={"build": build, "big": big.to_dict(), "baseline": small.to_dict()},
        ),
        figure("points_received", "↳ navigation start → GET /points received", "points_at_s", "s"),
        figure(
            "points_drawn",
            "↳ /points received → map drawn (JSON parse, colours, WebGL draw)",
            "drawn_after_points_s",
            "s",
        ),
        figure(
            "settled",
            "↳ map drawn → main thread free (the page's redraws after the first draw)",
            "settled_after_drawn_s",
            "s",
        ),
        figure(
            "drag",
            f"drag on the {n}-point map in Chromium, {config.drag_seconds:g} s of mouse moves "
            f"paced at {MOVE_HZ:g} Hz: time per frame shown ({drag_fps:.0f} frames/s)",
            "frame_ms",
            "ms",
            "drags",
            goal_p50=1000 / GOAL_DRAG_FPS,
            details={"big": big.drags, "baseline": small.drags},
        ),
        Figure(
            "browser_points",
            "browser",
            f"GET /points?format=binary of {n} points over loopback ({points_mb:.1f} MB; the "
            f"JSON form is {json_mb:.1f} MB), warm",
            Stats.of(big.points_ms, "ms"),
            baseline_label=base,
            baseline=Stats.of(small.points_ms, "ms"),
            ratio_kind="multiple",
            details={"big": big.points, "baseline": small.points, "big_json": big.json},
        ),
    ]


def _million_figures(small: PageRun, big: PageRun, synthetic: dict[str, Any]) -> list[Figure]:
    """The synthetic million-point map: time to interactive, a zoom, and the two forms."""
    n = f"{big.count:,}"
    what = f"synthetic {n}-point map (70k shapes items copied with jitter, bench/synthetic.py)"
    base = f"{small.model}, {small.count:,} points"
    drawn = big.loads[0]["drawn_points"]
    if big.forms is None or not big.zooms:
        raise BenchError("the million-point case ran without its zoom or forms measurements")
    forms = big.forms
    if forms["json_count"] != forms["binary_count"] != big.count:
        raise BenchError(f"the two points forms disagree on the count: {forms}")
    bytes_binary = big.points["bytes"] / 1e6
    bytes_json = big.json["bytes"] / 1e6
    details = {"synthetic": synthetic, "big": big.to_dict(), "baseline": small.to_dict()}
    return [
        Figure(
            "browser_ready_1m",
            "browser",
            f"{what} drawn and interactive in Chromium ({drawn:,} points drawn, the page's cap; "
            f"navigation start → sample drawn, page ready, main thread then free {QUIET_MS} ms)",
            big.stats("ready_s", "s"),
            baseline_label=base,
            baseline=small.stats("ready_s", "s"),
            ratio_kind="multiple",
            details=details,
        ),
        Figure(
            "browser_zoom_1m",
            "browser",
            f"zoom into the middle 1/10 × 1/10 of the {what}: view's points redrawn at full "
            f"detail (incl. the page's 120 ms wait for the zoom to stop)",
            Stats.of([z["ms"] for z in big.zooms], "ms"),
            baseline_label="first draw of the same map (points received → drawn)",
            baseline=Stats.of([1000 * load["drawn_after_points_s"] for load in big.loads], "ms"),
            ratio_kind="multiple",
            details={"zooms": big.zooms},
        ),
        Figure(
            "browser_drag_1m",
            "browser",
            f"drag on the {what} in Chromium: time per frame shown",
            big.stats("frame_ms", "ms", "drags"),
            baseline_label=base,
            baseline=small.stats("frame_ms", "ms", "drags"),
            ratio_kind="multiple",
            details={"big": big.drags},
        ),
        Figure(
            "browser_points_read_1m",
            "browser",
            f"fetch + read all {n} points in the page: binary form → typed arrays "
            f"({bytes_binary:.1f} MB) vs JSON → JSON.parse ({bytes_json:.1f} MB)",
            Stats.of(forms["binary_ms"], "ms"),
            baseline_label="the JSON form, same page, alternating",
            baseline=Stats.of(forms["json_ms"], "ms"),
            ratio_kind="speedup",
            details={"forms": forms},
        ),
        Figure(
            "browser_points_bytes_1m",
            "browser",
            f"size of the {n} points: binary form (float32 columns, narrow integer codes, no "
            f"names)",
            Stats.of([bytes_binary], "MB"),
            baseline_label="the JSON form",
            baseline=Stats.of([bytes_json], "MB"),
            ratio_kind="multiple",
            details={"binary": big.points, "json": big.json},
        ),
        Figure(
            "browser_points_get_1m",
            "browser",
            f"GET /points?format=binary of the {n} points over loopback, warm",
            Stats.of(big.points_ms, "ms"),
            baseline_label="GET of the JSON form",
            baseline=Stats.of(big.json_ms, "ms"),
            ratio_kind="speedup",
            details={"binary": big.points, "json": big.json},
        ),
    ]

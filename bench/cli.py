"""``python -m bench``: run the benchmarks, print the table, write results.json and results.md.

    python -m bench                     everything, on the default digits model (trained into
                                        bench/out/workspace on first use); writes bench/results.*
    python -m bench --quick             fewer repetitions, a smoke run
    python -m bench --only drag,neighbors
    python -m bench --threads 1         torch on one thread, here and in the server
    python -m bench --only browser      the page in Chromium on a 70,000-point map (opt-in: it
                                        trains that model on first use, several minutes)

A partial run (--quick, --only, --neighbors-n, --no-umap-baseline, --threads) writes into
bench/out/ unless --out says otherwise, so only a full run replaces the published table.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.api import API_GROUPS, ApiConfig, bench_api
from bench.browser import BrowserConfig, bench_browser
from bench.drag import DragConfig, bench_drag
from bench.neighbors import NeighborsConfig, bench_neighbors
from bench.report import machine_facts, markdown_table, write_results
from bench.stats import BenchError, Figure

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORKSPACE = BENCH_DIR / "out" / "workspace"
BROWSER_WORKSPACE = BENCH_DIR / "out" / "workspace-70k"
DEFAULT_GROUPS = ("drag", "neighbors", *API_GROUPS)
# Only when asked for: the first run trains a 70,000-item model, and every run drives Chromium.
OPT_IN_GROUPS = ("browser",)
GROUPS = (*DEFAULT_GROUPS, *OPT_IN_GROUPS)

QUICK_DRAG = DragConfig(points=100, warmup=10, umap_reps=3, umap_seconds=20.0, profile_reps=30)
QUICK_NEIGHBORS = NeighborsConfig(queries=100, baseline_queries=20, warmup=5)
QUICK_API = ApiConfig(encode_reps=20, warmup=3, ws_seconds=0.5, ws_baseline_reps=20, starts=1)
QUICK_BROWSER = BrowserConfig(loads=1, drag_seconds=2.0, points_reps=2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the explorer against its speed targets."
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        default=DEFAULT_WORKSPACE,
        help="workspace holding the model; the default digits model is trained there if missing "
        "(default: bench/out/workspace)",
    )
    parser.add_argument(
        "--model", default=None, help="model folder to benchmark (default: the digits VAE)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated benchmarks to run, from: {', '.join(GROUPS)} "
        f"(default: all but {', '.join(OPT_IN_GROUPS)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for results.json and results.md (default: bench/ for a full run, "
        "bench/out/ otherwise)",
    )
    parser.add_argument(
        "--neighbors-n",
        type=int,
        default=None,
        help=f"latents in the neighbour benchmark (default: {NeighborsConfig().n_items:,})",
    )
    parser.add_argument(
        "--no-umap-baseline",
        action="store_true",
        help="skip fitting umap-learn for the drag baseline (it takes tens of seconds)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads, in this process and the server's (default: the app's, all cores)",
    )
    parser.add_argument(
        "--browser-workspace",
        type=Path,
        default=BROWSER_WORKSPACE,
        help="workspace for the browser benchmark's large shapes model, trained there if "
        "missing (default: bench/out/workspace-70k)",
    )
    return parser


def parse_only(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_GROUPS
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in GROUPS]
    if unknown or not names:
        raise BenchError(
            f"--only: unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(GROUPS)}"
        )
    return names


def default_model_name() -> str:
    """The folder name `train_model(TrainRequest())` writes: the default digits model."""
    from app.services.training import TrainRequest
    from app.workspace import model_name
    from models.base import architecture

    request = TrainRequest()
    return model_name(request.dataset, architecture(request.architecture).name, request.latent_dim)


def ensure_model(workspace: Path, model: str) -> None:
    """Train the default digits model into `workspace` unless it is already there."""
    import torch

    from app.services.training import TrainRequest, train_model
    from app.workspace import list_models

    if model in list_models(workspace):
        return
    if model != default_model_name():
        raise BenchError(f"{workspace}: no model {model!r} (found: {list_models(workspace)})")
    log(f"training the default digits model into {workspace} (a minute or more)")
    train_model(TrainRequest(), workspace, torch.device("cpu"))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, list(argv) if argv is not None else sys.argv[1:])
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from models.device import configure_torch, resolve_device

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    groups = parse_only(args.only)
    partial = (
        args.quick
        or set(groups) != set(DEFAULT_GROUPS)
        or args.neighbors_n is not None
        or args.no_umap_baseline
        or args.threads is not None
    )
    out_dir = args.out or (BENCH_DIR / "out" if partial else BENCH_DIR)
    workspace = args.workspace.resolve()
    model = args.model or default_model_name()
    device = resolve_device("cpu")
    configure_torch(args.threads)
    machine = machine_facts(str(device))
    ensure_model(workspace, model)

    drag_config = QUICK_DRAG if args.quick else DragConfig()
    if args.no_umap_baseline:
        drag_config = replace(drag_config, umap_reps=0)
    neighbors_config = QUICK_NEIGHBORS if args.quick else NeighborsConfig()
    if args.neighbors_n is not None:
        neighbors_config = replace(neighbors_config, n_items=args.neighbors_n)
    api_config = replace(QUICK_API if args.quick else ApiConfig(), server_threads=args.threads)

    started = time.perf_counter()
    figures: list[Figure] = []
    if "drag" in groups:
        log("drag: frames along a path across the UMAP map, then the umap-learn baseline")
        figures += bench_drag(_load(workspace, model, device), drag_config)
    if "neighbors" in groups:
        log(f"neighbors: k={neighbors_config.k} over {neighbors_config.n_items:,} latents")
        figures += bench_neighbors(neighbors_config)
    api_groups = {g for g in groups if g in API_GROUPS}
    if api_groups:
        log(f"api: {', '.join(sorted(api_groups))} against `python -m app serve` on loopback")
        figures += bench_api(workspace, model, api_config, api_groups, BENCH_DIR / "out")
    if "browser" in groups:
        log("browser: time to an interactive map and drag frames/s in Chromium, 70k vs digits")
        browser_config = replace(
            QUICK_BROWSER if args.quick else BrowserConfig(), server_threads=args.threads
        )
        figures += bench_browser(
            workspace,
            model,
            args.browser_workspace.resolve(),
            browser_config,
            BENCH_DIR / "out",
            say=log,
        )

    machine["load_average_end"] = machine_facts(str(device))["load_average"]
    run_info: dict[str, Any] = {
        "argv": argv,
        "groups": list(groups),
        "quick": args.quick,
        "threads": args.threads,
        "model": model,
        "workspace": str(workspace),
        "seconds": time.perf_counter() - started,
    }
    json_path, md_path = write_results(out_dir, figures, machine, run_info)
    print(markdown_table(figures))
    missed = [f.key for f in figures if f.passed is False]
    print(
        f"\nwrote {json_path} and {md_path}" + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return 0


def _load(workspace: Path, model: str, device: Any) -> Any:
    """The model as the server holds it: checkpoint, cached index, warmed up."""
    from app.services.loaded import ModelStore

    store = ModelStore.load(workspace, device, (model,))
    if model not in store.models:
        raise BenchError(f"model {model!r} did not load: {store.failed.get(model, 'unknown')}")
    return store.models[model]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)

"""``python -m bench``: run the benchmarks, print the table, write results.json and results.md.

    python -m bench                     everything, on the default digits model (trained into
                                        bench/out/workspace on first use); writes bench/results.*
    python -m bench --quick             fewer repetitions, a smoke run
    python -m bench --only drag,neighbors
    python -m bench --threads 1         torch on one thread, here and in the server
    python -m bench --only browser      the page in Chromium on a 70,000-point map and a
                                        synthetic 1,000,000-point copy of it (opt-in: it trains
                                        that model and writes the copy on first use, minutes)

The default groups, in the order they run:
    drag        drag frame (map point -> latent -> PNG) vs umap-learn inverse_transform
    neighbors   exact k=10 over 70,000 and 1,000,000 latents vs scikit-learn brute force
                (--neighbors-n 70000,1000000 picks the sizes)
    ann         ApproxNeighborIndex over 1,000,000 latents: latency vs exact, recall@10, build
                (--ann-n picks the size; skipped, and said so, if app/index/ann.py is missing)
    placement   a new latent onto the UMAP map vs umap-learn transform; alone vs in a batch
    throughput  encode and decode images/s at batch 1 and 256 (CPU, and CUDA when present)
    build       build_index at 1,797 (digits), 20,000 and 70,000 (shapes) items, by phase
                (about 4 minutes: 70,000 items is one run; --quick stops at 20,000)
    topology    H0+H1 persistent homology on 2,000 greedy landmarks of 20,000 latents vs bare
                ripser with its own subsample (the Topology tab's first request)
    search      a search over 1,000,000 items with the model's prepared columns vs the bare index
    umap        UMAP fitted on a 5,000 sample of 20,000 latents, the rest placed, vs a full
                fit: time and trustworthiness (about 2 minutes)
    ray         encode 20,000 shapes with Ray Data on a local Ray vs in this process (the
                `ray` extra; skipped, and said so, without it)
    encode, ws, start   the real server over loopback: encode, drag stream, warm start
    streams     1 and 30 drag streams at once against a real server, clients in their own
                process, on the digits model and a shapes VAE (trained on first use)
    cold        `python -m app run` on an empty workspace (trains the default model) to healthy
All of them took 14 minutes on 2 cores shared with other work (load average 4-5), the cold
start (4.5 min) and the 70,000-item build (3.5 min) the largest; the 1M-latent groups need
about 1 GB of memory.

Opt-in, like browser: umap1m, UMAP at 1,000,000 synthetic latents fitted on the app's
100,000 sample and the rest placed (several minutes); folder, indexing a folder of 100,000
16x16 PNGs (--folder-n picks the count) streamed vs the in-memory loader: time and peak memory,
each way in its own process (minutes); objectives, every model kind trained at its defaults on
digits and on shapes, its quality figures written as a table to objectives.md (bench/objectives.py;
tens of minutes, --quick: test size, a minute or two).

A partial run (--quick, --only, --neighbors-n, --ann-n, --folder-n, --no-umap-baseline,
--threads) writes into bench/out/ unless --out says otherwise, so only a full run replaces the
published table.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.ann import AnnConfig, bench_ann
from bench.api import API_GROUPS, ApiConfig, bench_api
from bench.browser import BrowserConfig, bench_browser
from bench.build import BuildCase, BuildConfig, bench_build
from bench.drag import DragConfig, bench_drag
from bench.drag_streams import StreamsConfig, bench_streams, shapes_model
from bench.folder_stream import FolderStreamConfig, bench_folder_stream
from bench.neighbors import NeighborsConfig, bench_neighbors
from bench.objectives import QUICK_OBJECTIVES, ObjectivesConfig, bench_objectives
from bench.placement import PlacementConfig, bench_placement
from bench.ray_encode import RayEncodeConfig, bench_ray_encode
from bench.report import machine_facts, markdown_table, write_results
from bench.search import SearchConfig, bench_search
from bench.stats import BenchError, BenchSkipped, Figure
from bench.throughput import ThroughputConfig, bench_throughput
from bench.topology import TopologyConfig, bench_topology
from bench.umap_sample import UmapSampleConfig, bench_umap_million, bench_umap_sample

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORKSPACE = BENCH_DIR / "out" / "workspace"
BROWSER_WORKSPACE = BENCH_DIR / "out" / "workspace-70k"
IN_PROCESS_GROUPS = (
    "drag",
    "neighbors",
    "ann",
    "placement",
    "throughput",
    "build",
    "topology",
    "search",
    "umap",
    "ray",
)
DEFAULT_GROUPS = (*IN_PROCESS_GROUPS, *API_GROUPS, "streams")
# Only when asked for: the first run trains a 70,000-item model, and every run drives Chromium.
OPT_IN_GROUPS = ("browser", "umap1m", "folder", "objectives")
GROUPS = (*DEFAULT_GROUPS, *OPT_IN_GROUPS)

QUICK_DRAG = DragConfig(points=100, warmup=10, umap_reps=3, umap_seconds=20.0, profile_reps=30)
QUICK_NEIGHBORS = NeighborsConfig(
    queries=100, baseline_queries=20, large_queries=30, large_baseline_queries=10, warmup=5
)
QUICK_ANN = AnnConfig(queries=200, baseline_queries=20, warmup=5)
QUICK_PLACEMENT = PlacementConfig(points=100, umap_reps=5, umap_seconds=20.0, warmup=2)
QUICK_UMAP = UmapSampleConfig(items=3000, max_fit=1000, big_items=30_000, big_max_fit=5000)
QUICK_THROUGHPUT = ThroughputConfig(rounds=5, singles_per_round=10, warmup_rounds=1)
QUICK_BUILD = BuildConfig(cases=(BuildCase("model", None, 1), BuildCase("shapes", 20_000, 1)))
QUICK_API = ApiConfig(encode_reps=20, warmup=3, ws_seconds=0.5, ws_baseline_reps=20, starts=1)
QUICK_STREAMS = StreamsConfig(seconds=2.0, warmup=0.5, shapes_items=2000, shapes_epochs=2)
QUICK_TOPOLOGY = TopologyConfig(items=3000, landmarks=500, reps=1)
QUICK_SEARCH = SearchConfig(items=100_000, reps=3)
QUICK_RAY = RayEncodeConfig(items=5000)
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
        type=parse_sizes,
        default=None,
        help="comma-separated numbers of latents in the exact neighbour benchmark (default: "
        f"{','.join(str(n) for n in NeighborsConfig().sizes)})",
    )
    parser.add_argument(
        "--ann-n",
        type=int,
        default=None,
        help=f"latents in the approximate neighbour benchmark (default: {AnnConfig().n_items})",
    )
    parser.add_argument(
        "--folder-n",
        type=int,
        default=None,
        help=f"images in the folder benchmark (default: {FolderStreamConfig().items})",
    )
    parser.add_argument(
        "--no-umap-baseline",
        action="store_true",
        help="skip fitting umap-learn for the drag and placement baselines (tens of seconds)",
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


def parse_sizes(text: str) -> tuple[int, ...]:
    """ "70000,1000000" -> (70000, 1000000): positive item counts (argparse type)."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 70000,1000000: {text!r}")
    return sizes


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
    from models.registry import architecture

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
        or args.ann_n is not None
        or args.folder_n is not None
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
        neighbors_config = replace(neighbors_config, sizes=args.neighbors_n)
    ann_config = QUICK_ANN if args.quick else AnnConfig()
    if args.ann_n is not None:
        ann_config = replace(ann_config, n_items=args.ann_n)
    api_config = replace(QUICK_API if args.quick else ApiConfig(), server_threads=args.threads)

    started = time.perf_counter()
    figures: list[Figure] = []
    loaded: dict[str, Any] = {}

    def load(on: Any = device) -> Any:
        """The model as the server holds it, loaded once per device for every group."""
        if str(on) not in loaded:
            loaded[str(on)] = _load(workspace, model, on)
        return loaded[str(on)]

    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}

    def attempt(group: str, measure: Callable[[], list[Figure]]) -> None:
        """Run one group; one that cannot run is recorded, and the others still run."""
        try:
            figures.extend(measure())
        except BenchSkipped as exc:
            skipped[group] = str(exc)
            log(f"{group}: skipped: {exc}")
        except BenchError as exc:
            failed[group] = str(exc)
            log(f"{group}: FAILED: {exc}")

    if "drag" in groups:
        log("drag: frames along a path across the UMAP map, then the umap-learn baseline")
        attempt("drag", lambda: bench_drag(load(), drag_config))
    if "neighbors" in groups:
        sizes = " and ".join(f"{n:,}" for n in neighbors_config.sizes)
        log(f"neighbors: exact k={neighbors_config.k} over {sizes} latents vs scikit-learn")
        attempt("neighbors", lambda: bench_neighbors(neighbors_config))
    if "ann" in groups:
        log(f"ann: approximate k={ann_config.k} over {ann_config.n_items:,} latents vs exact")
        attempt("ann", lambda: bench_ann(ann_config))
    if "placement" in groups:
        log("placement: new latents on the UMAP map vs umap-learn transform; alone vs batch")
        placement_config = QUICK_PLACEMENT if args.quick else PlacementConfig()
        if args.no_umap_baseline:
            placement_config = replace(placement_config, umap_reps=0)
        attempt("placement", lambda: bench_placement(load(), placement_config))
    if "throughput" in groups:
        log("throughput: encode and decode images/s at batch 1 and 256")
        throughput_config = QUICK_THROUGHPUT if args.quick else ThroughputConfig()
        devices = [device, *([resolve_device("cuda")] if torch_cuda_available() else [])]
        attempt(
            "throughput", lambda: bench_throughput([load(d) for d in devices], throughput_config)
        )
    if "build" in groups:
        build_config = QUICK_BUILD if args.quick else BuildConfig()
        cases = ", ".join(f"{c.dataset} {c.size or 'all'} x{c.reps}" for c in build_config.cases)
        log(f"build: build_index wall time, split by phase ({cases}; minutes)")
        attempt("build", lambda: bench_build(load(), build_config))
    if "topology" in groups:
        topology_config = QUICK_TOPOLOGY if args.quick else TopologyConfig()
        log(
            f"topology: persistence on {topology_config.landmarks:,} landmarks of "
            f"{topology_config.items:,} latents vs bare ripser"
        )
        attempt("topology", lambda: bench_topology(load(), topology_config))
    if "search" in groups:
        search_config = QUICK_SEARCH if args.quick else SearchConfig()
        log(f"search: queries over {search_config.items:,} items, prepared vs bare index")
        attempt("search", lambda: bench_search(search_config))
    umap_config = QUICK_UMAP if args.quick else UmapSampleConfig()
    if "umap" in groups:
        log(
            f"umap: fit on {umap_config.max_fit:,} of {umap_config.items:,} latents + place the "
            "rest, vs a full fit (minutes)"
        )
        attempt("umap", lambda: bench_umap_sample(load(), umap_config))
    if "ray" in groups:
        ray_config = QUICK_RAY if args.quick else RayEncodeConfig()
        log(f"ray: encode {ray_config.items:,} images on a local Ray vs in this process")
        attempt("ray", lambda: bench_ray_encode(load(), ray_config, BENCH_DIR / "out"))
    if "umap1m" in groups:
        log(f"umap1m: {umap_config.big_items:,} synthetic latents, sample fit + placement")
        attempt("umap1m", lambda: bench_umap_million(umap_config))
    if "folder" in groups:
        folder_config = replace(FolderStreamConfig(), threads=args.threads)
        if args.folder_n is not None:
            folder_config = replace(folder_config, items=args.folder_n)
        log(
            f"folder: index {folder_config.items:,} PNGs streamed vs in memory, each in its own "
            "process (minutes)"
        )
        attempt("folder", lambda: bench_folder_stream(folder_config, BENCH_DIR / "out"))
    if "objectives" in groups:
        objectives_config = QUICK_OBJECTIVES if args.quick else ObjectivesConfig()
        log("objectives: every kind trained at its defaults on digits and shapes (minutes)")
        attempt(
            "objectives",
            lambda: bench_objectives(objectives_config, out_dir, machine, say=log),
        )
    api_groups = [g for g in API_GROUPS if g in groups]
    # The cold start trains a model first: apart, so a failure there costs only its own figure.
    for names in ([g for g in api_groups if g != "cold"], [g for g in api_groups if g == "cold"]):
        if names:
            log(f"api: {', '.join(names)} against a real server on loopback")
            measure = functools.partial(
                bench_api, workspace, model, api_config, set(names), BENCH_DIR / "out"
            )
            attempt(",".join(names), measure)
    if "streams" in groups:
        streams_config = replace(
            QUICK_STREAMS if args.quick else StreamsConfig(), server_threads=args.threads
        )
        log(f"streams: 1 and {streams_config.streams} drag streams against a real server")

        def streams() -> list[Figure]:
            models = {"digits": model, "shapes": shapes_model(workspace, streams_config, log)}
            return bench_streams(workspace, models, streams_config, BENCH_DIR / "out", log)

        attempt("streams", streams)
    if "browser" in groups:
        log(
            "browser: time to an interactive map and drag frames/s in Chromium, 70k and a "
            "synthetic 1M vs digits"
        )
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
        "skipped": skipped,
        "failed": failed,
    }
    if failed and args.out is None:  # an incomplete run never replaces the published table
        out_dir = BENCH_DIR / "out"
    json_path, md_path = write_results(out_dir, figures, machine, run_info)
    print(markdown_table(figures))
    missed = [f.key for f in figures if f.passed is False]
    print(
        f"\nwrote {json_path} and {md_path}"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
    )
    for group, message in failed.items():
        print(f"error: {group}: {message}", file=sys.stderr)
    return 2 if failed else 0


def _load(workspace: Path, model: str, device: Any) -> Any:
    """The model as the server holds it: checkpoint, cached index, warmed up."""
    from app.services.loaded import ModelStore

    store = ModelStore.load(workspace, device, (model,))
    if model not in store.models:
        raise BenchError(f"model {model!r} did not load: {store.failed.get(model, 'unknown')}")
    return store.models[model]


def torch_cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)

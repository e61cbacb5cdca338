"""Indexing a large folder of images: streamed (app/index/stream.py) vs the in-memory loader.

Opt-in group ``folder`` (minutes: it writes the folder, then decodes it twice). The folder:
``--folder-n`` (default 100,000) procedural coloured shapes of 16x16 px (models/data/shapes.py)
written as PNG files into one class folder per shape, under bench/out/ (not the system temp
folder, which may be a RAM disk), with a metadata.csv of the other factors (scale, rotation,
x, y, colour), and deleted afterwards. The model: a seeded, untrained VAE (latent 8, width 16)
recorded as trained on that folder; the time and memory of indexing depend on the number and
size of the images, not on the weights. Projections: PCA only. A UMAP fit of 100,000 points
takes minutes on 2 cores and costs the same either way (the build group measures it).

Each way runs in a fresh child process (``python -m bench.folder_stream MODE MODEL_DIR``), so
its memory is its own:
- ``stream``: what `latent-explorer index` runs for a folder model: ``scan_folder`` (decode,
  encode, write a memory-mapped .npy), ``index_latents``, ``save_index``;
- ``memory``, the baseline: what it ran before: ``dataset_for`` (every image in one array),
  ``build_index``, ``save_index``;
- ``floor``: the child's imports and the model load, nothing indexed: what both pay anyway.

Memory is the peak *anonymous* resident memory (RssAnon in /proc/self/status, sampled every
20 ms): what has to fit in RAM. Pages of a memory-mapped file count in a process's total RSS
(``ru_maxrss``, in the details) while they are cached, but the kernel can drop them at will;
the streamed index's image file is such pages, so its total RSS says little about its need.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import BenchError, Figure, Stats, count_tag

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 3600.0
SAMPLE_EVERY_S = 0.02


@dataclass(frozen=True)
class FolderStreamConfig:
    items: int = 100_000
    image_size: int = 16  # tiny images: the folder is written in a minute, not an hour
    latent_dim: int = 8
    width: int = 16  # the CLI's default architecture width
    batch_size: int | None = None  # None: the app's STREAM_BATCH
    threads: int | None = None  # torch threads in the children; None: the app's (all cores)
    seed: int = 0


def bench_folder_stream(config: FolderStreamConfig, out_dir: Path) -> list[Figure]:
    """Write the folder, index it both ways in child processes, compare time and memory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="folder-stream-", dir=out_dir))
    try:
        start = time.perf_counter()
        images = scratch / "shapes"
        write_folder(images, config)
        write_s = time.perf_counter() - start
        model_dir = scratch / "workspace" / "shapes-vae"
        write_checkpoint(model_dir, images, config)
        runs = {mode: run_child(mode, model_dir, config) for mode in ("floor", "stream", "memory")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures_of(runs, config, write_s)


def figures_of(
    runs: dict[str, dict[str, Any]], config: FolderStreamConfig, write_s: float
) -> list[Figure]:
    """Three figures: memory while the images are read (above the floor), the whole run's
    peak memory, and wall time; each streamed, against the in-memory loader."""
    stream, memory, floor = runs["stream"], runs["memory"], runs["floor"]
    n = int(stream["items"])
    if int(memory["items"]) != n:
        raise BenchError(f"the two ways indexed {n} and {memory['items']} items")
    tag = count_tag(n)
    base = float(floor["peak_anon_mb"])
    reading = {
        "stream": stream["phases"]["decode+encode"]["peak_anon_mb"] - base,
        "memory": max(memory["phases"][k]["peak_anon_mb"] for k in ("load", "encode")) - base,
    }
    details = {
        "items": n,
        "image_shape": [3, config.image_size, config.image_size],
        "images_mb": n * 3 * config.image_size**2 / 2**20,
        "projections": ["pca"],
        "write_folder_seconds": write_s,
        "floor_peak_anon_mb": base,
        "stream": stream,
        "memory": memory,
    }
    what = f"{n:,} PNGs of {config.image_size}x{config.image_size} RGB"
    return [
        Figure(
            f"folder_stream_read_mb_{tag}",
            "folder",
            f"memory while reading and encoding a folder of {what}, streamed (peak anonymous "
            f"RSS above the {base:.0f} MB of imports and model)",
            Stats.of([max(reading["stream"], 1e-3)], "MB"),
            baseline_label="the in-memory loader, loading and encoding",
            baseline=Stats.of([max(reading["memory"], 1e-3)], "MB"),
            ratio_kind="multiple",
            details=details,
        ),
        Figure(
            f"folder_stream_peak_mb_{tag}",
            "folder",
            f"peak anonymous RSS of the whole index build of {what} (PCA only), streamed",
            Stats.of([stream["peak_anon_mb"]], "MB"),
            baseline_label="the in-memory loader",
            baseline=Stats.of([memory["peak_anon_mb"]], "MB"),
            ratio_kind="multiple",
            details={"phases_stream": stream["phases"], "phases_memory": memory["phases"]},
        ),
        Figure(
            f"folder_stream_time_{tag}",
            "folder",
            f"index build of {what} (PCA only), streamed: wall time, 1 run",
            Stats.of([stream["wall_s"]], "s"),
            baseline_label="the in-memory loader, 1 run",
            baseline=Stats.of([memory["wall_s"]], "s"),
            ratio_kind="multiple",
            details={"timings_stream": stream["timings"], "timings_memory": memory["timings"]},
        ),
    ]


def write_folder(root: Path, config: FolderStreamConfig) -> None:
    """``config.items`` shapes as PNG files in one folder per shape, plus metadata.csv."""
    from PIL import Image

    from models.data.shapes import load_shapes

    data = load_shapes(
        image_size=config.image_size, size=config.items, seed=config.seed, colour=True
    )
    shapes = data.metadata["shape"]
    for shape in np.unique(shapes):
        (root / str(shape)).mkdir(parents=True)
    columns = [k for k in ("scale", "rotation", "x", "y", "colour") if k in data.metadata]
    lines = [",".join(["file", *columns])]
    for i in range(len(data)):
        name = f"{shapes[i]}/{i:06d}.png"
        Image.fromarray(data.images[i].transpose(1, 2, 0)).save(root / name)  # (S, S, 3)
        lines.append(",".join([name, *(str(data.metadata[k][i]) for k in columns)]))
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")


def write_checkpoint(folder: Path, images: Path, config: FolderStreamConfig) -> None:
    import torch

    from models.registry import save_checkpoint
    from models.vae import ConvVAE, VAEConfig

    torch.manual_seed(config.seed)
    shape = (3, config.image_size, config.image_size)
    model = ConvVAE(VAEConfig(image_shape=shape, latent_dim=config.latent_dim, width=config.width))
    spec = {
        "spec": f"folder:{images}",
        "image_size": config.image_size,
        "channels": 3,
        "size": None,
        "seed": config.seed,
    }
    save_checkpoint(model, folder, dataset=spec)


def run_child(mode: str, model_dir: Path, config: FolderStreamConfig) -> dict[str, Any]:
    """Run one way in a fresh interpreter; its last stdout line is its JSON result."""
    command = [sys.executable, "-m", "bench.folder_stream", mode, str(model_dir)]
    if config.threads is not None:
        command += ["--threads", str(config.threads)]
    if config.batch_size is not None:
        command += ["--batch-size", str(config.batch_size)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BenchError(f"the {mode} child failed ({done.returncode}): {tail[0]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class AnonPeak:
    """The largest RssAnon seen since the last ``take``, sampled on a background thread."""

    def __init__(self) -> None:
        self._peak = anon_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._peak = max(self._peak, anon_mb())

    def take(self) -> float:
        """The peak since the last call (including now), and start again from now."""
        peak, self._peak = max(self._peak, anon_mb()), anon_mb()
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def anon_mb() -> float:
    """This process's anonymous resident memory in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise BenchError("no RssAnon in /proc/self/status: the folder benchmark needs Linux")


@contextmanager
def phase(peaks: AnonPeak, record: dict[str, dict[str, float]], name: str) -> Iterator[None]:
    peaks.take()
    start = time.perf_counter()
    yield
    record[name] = {"seconds": time.perf_counter() - start, "peak_anon_mb": peaks.take()}


def child(mode: str, model_dir: Path, threads: int | None, batch_size: int | None) -> None:
    """One way of indexing, measured from inside; prints its result as one JSON line."""
    from app.index.build import dataset_for
    from app.index.fitting import IndexParams, cache_key, data_hash, index_latents
    from app.index.store import save_index
    from app.index.stream import STREAM_BATCH, scan_folder
    from app.workspace import index_dir
    from models.data.folder import list_folder
    from models.device import configure_torch
    from models.registry import load_checkpoint
    from models.training import encode_all

    configure_torch(threads)
    peaks = AnonPeak()
    model, info = load_checkpoint(model_dir)
    params = IndexParams(projections=("pca",))
    phases: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}
    items = 0
    started = time.perf_counter()
    if mode == "stream":  # refresh_folder_index's steps, one phase each
        spec = info.dataset
        with phase(peaks, phases, "list"):
            listing = list_folder(str(spec["spec"]).partition(":")[2])
        scratch = Path(tempfile.mkdtemp(prefix=".index.stream-", dir=model_dir))
        with phase(peaks, phases, "decode+encode"):
            scan = scan_folder(
                listing,
                model,
                scratch,
                image_size=int(spec["image_size"]),
                channels=int(spec["channels"]),
                batch_size=batch_size or STREAM_BATCH,
            )
        with phase(peaks, phases, "fit"):
            index = index_latents(
                scan.items,
                params,
                key=cache_key(info, params),
                data_sha256=scan.data_sha256,
                timings=scan.timings,
            )
        with phase(peaks, phases, "save"):
            save_index(index, index_dir(model_dir))
        shutil.rmtree(scratch)
        items, timings = len(index), index.timings
    elif mode == "memory":  # build_index's steps (encode_all, index_latents), one phase each
        with phase(peaks, phases, "load"):
            data = dataset_for(info)
        with phase(peaks, phases, "encode"):
            latents, errors = encode_all(model, data.images, "cpu")
        with phase(peaks, phases, "fit"):
            index = index_latents(
                data.items.encoded(latents, errors),
                params,
                key=cache_key(info, params),
                data_sha256=data_hash(data),
            )
        with phase(peaks, phases, "save"):
            save_index(index, index_dir(model_dir))
        items, timings = len(index), index.timings
    elif mode != "floor":
        raise BenchError(f"unknown mode {mode!r}: stream, memory or floor")
    wall = time.perf_counter() - started
    peak = max([peaks.take(), *(p["peak_anon_mb"] for p in phases.values())])
    peaks.stop()
    result = {
        "mode": mode,
        "items": items,
        "wall_s": wall,
        "peak_anon_mb": peak,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "phases": phases,
        "timings": timings,
    }
    print(json.dumps(result))


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.folder_stream")
    parser.add_argument("mode", choices=("stream", "memory", "floor"))
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    child(args.mode, args.model_dir, args.threads, args.batch_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Encoding with Ray Data on a local Ray (app/index/ray_encode.py) vs in this process.

Group ``ray``: the model's images, ``items`` procedural shapes at its size and channels, encoded
twice in the same run: by ``encode_all`` in this process (torch on every core), and by
``encode_with_ray`` on a local Ray started here with the machine's cores (one worker per CPU,
each loading the checkpoint once), Parquet shards written to a scratch folder and read back in
id order. The Ray figure includes the workers' start and model load and the shards' round trip,
not ``ray.init`` (in the details): on one machine Ray can only add overhead, and the ratio says
how much. The two encodings must agree within 1e-5.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.services.loaded import LoadedModel
from bench.stats import BenchError, BenchSkipped, Figure, Stats, count_tag


@dataclass(frozen=True)
class RayEncodeConfig:
    items: int = 20_000  # enough that the encoding, not Ray's start-up, is most of the time
    num_cpus: int | None = None  # the local Ray's CPUs; None: every core


def bench_ray_encode(m: LoadedModel, config: RayEncodeConfig, out_dir: Path) -> list[Figure]:
    from app.index.ray_encode import RayOptions, encode_with_ray, read_shards
    from models.data import load_dataset
    from models.errors import ConfigError
    from models.training import encode_all

    try:
        from app.index.ray_encode import import_ray

        ray = import_ray()
    except ConfigError as exc:
        raise BenchSkipped(str(exc)) from None
    channels, size = m.image_shape[0], m.image_shape[1]
    data = load_dataset("shapes", image_size=size, channels=channels, size=config.items)
    start = time.perf_counter()
    local, _ = encode_all(m.model, data.images, m.device)
    local_s = time.perf_counter() - start

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start = time.perf_counter()
    ray.init(num_cpus=config.num_cpus, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ray-encode-", dir=out_dir))
    try:
        start = time.perf_counter()
        encode_with_ray(m.folder, data, RayOptions(), False, str(scratch / "shards"))
        latents, _ = read_shards(str(scratch / "shards"), len(data))
        ray_s = time.perf_counter() - start
        workers = int(ray.cluster_resources().get("CPU", 1))
    finally:
        ray.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    gap = float(np.abs(latents - local).max())
    if gap > 1e-5:
        raise BenchError(f"Ray's latents differ from the in-process ones by up to {gap:.3g}")
    n = len(data)
    details: dict[str, Any] = {
        "items": n,
        "image_shape": list(data.image_shape),
        "ray_workers": workers,
        "ray_init_seconds": init_s,
        "max_abs_latent_difference": gap,
        "images_per_second_ray": n / ray_s,
        "images_per_second_local": n / local_s,
    }
    return [
        Figure(
            f"ray_encode_{count_tag(n)}",
            "ray",
            f"encode {n:,} {data.name} items with Ray Data on a local Ray ({workers} workers; "
            "worker start, model load and Parquet shards included), 1 run",
            Stats.of([ray_s], "s"),
            baseline_label="encode_all in this process, 1 run",
            baseline=Stats.of([local_s], "s"),
            ratio_kind="multiple",
            details=details,
        )
    ]

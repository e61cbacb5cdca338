"""Persistent homology of a latent cloud: what the Topology tab costs on its first request.

The default model's latents of 20,000 procedural shapes items (at the model's image size) go
through ``Topology(2000)``: greedy landmarks, ripser's H0 and H1 with cocycles, the landmark
single-linkage tree and every item's nearest landmark. The baseline in the same run is bare
``ripser(latents, maxdim=1, n_perm=2000)`` (ripser's own greedy subsample, no cocycles): what
the extras cost on top of the computation itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.index.topology import Topology
from app.services.loaded import LoadedModel
from bench.stats import Figure, Stats, count_tag
from models.data import load_dataset
from models.training import encode_all


@dataclass(frozen=True)
class TopologyConfig:
    items: int = 20_000
    landmarks: int = 2_000  # the server's default (setting topology_max_points)
    reps: int = 3
    seed: int = 0


def bench_topology(m: LoadedModel, config: TopologyConfig) -> list[Figure]:
    from ripser import ripser

    channels, size = m.image_shape[0], m.image_shape[1]
    data = load_dataset("shapes", image_size=size, channels=channels, size=config.items)
    latents, _ = encode_all(m.model, data.images, m.device)
    Z = np.asarray(latents, dtype=np.float64)
    ours, bare = [], []
    for _ in range(config.reps):
        start = time.perf_counter()
        fitted = Topology(config.landmarks, config.seed).fit(Z)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        ripser(Z, maxdim=1, n_perm=config.landmarks)
        bare.append(time.perf_counter() - start)
    n = len(Z)
    return [
        Figure(
            f"topology_{count_tag(config.landmarks)}_of_{count_tag(n)}",
            "topology",
            f"H0+H1 persistence on {config.landmarks:,} greedy landmarks of {n:,} shapes latents "
            f"({Z.shape[1]} dims), with cocycles, merge tree and owners ({config.reps} runs)",
            Stats.of(ours, "s"),
            baseline_label=f"bare ripser, n_perm={config.landmarks:,}",
            baseline=Stats.of(bare, "s"),
            ratio_kind="multiple",
            details={
                "items": n,
                "landmarks": config.landmarks,
                "latent_dim": int(Z.shape[1]),
                "h1_bars": len(fitted.dgms_[1]),
                "cover_radius": fitted.cover_radius_,
            },
        )
    ]

"""A synthetic million-item workspace for the browser benchmark, made from a real index.

A real 1,000,000-item index would mean a million-image dataset, a million encodes and UMAP on
a million points: hours on 2 cores. The page's cost depends on how many points it loads and
draws, not on where they came from, so the benchmark uses an honest stand-in, built in a few
minutes from the 70,000-item shapes index (and always labelled "synthetic" in the figures):

item ``i`` is copy ``k = i // n`` of source item ``s = i % n`` (``n`` source items). Copy 0 is
the source item unchanged; every other copy gets, with a seeded generator,

- latent: the source latent plus Gaussian noise of ``LATENT_JITTER`` x each dimension's std;
- PCA position: the source's fitted PCA applied to that latent (exact);
- UMAP position: the source position plus Gaussian noise of ``MAP_JITTER`` x the median
  distance between neighbouring map points (a jittered copy, not a UMAP placement);
- image, label, metadata and reconstruction error of the source item; name ``<source>~<k>``.

The checkpoint (config and weights) is the source's, so decoding, dragging and clicks work;
the inverse maps are fitted on the new positions; the index is saved under the key the server
expects, so it loads it instead of rebuilding. Quality figures are the source's, marked so.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

LATENT_JITTER = 0.05  # of each latent dimension's std: copies stay near their source
MAP_JITTER = 0.25  # of the median nearest-neighbour distance on the UMAP map
SEED = 0


def synthetic_name(source: str, n_items: int) -> str:
    """The model folder of the synthetic copy: e.g. shapes-vae-10-synthetic-1m."""
    tag = f"{n_items // 1_000_000}m" if n_items % 1_000_000 == 0 else f"{n_items // 1000}k"
    return f"{source}-synthetic-{tag}"


def ensure_synthetic(
    source_folder: Path,
    workspace: Path,
    n_items: int,
    say: Callable[[str], None] = lambda _: None,
) -> tuple[str, dict[str, Any]]:
    """Write the synthetic model into ``workspace`` unless an up-to-date one is there; returns
    its name and facts about the construction (for the results' details)."""
    import torch

    from app.index.fitting import IndexParams, cache_key
    from app.index.store import read_manifest
    from app.workspace import index_dir
    from models.registry import load_checkpoint

    name = synthetic_name(source_folder.name, n_items)
    folder = workspace / name
    _, info = load_checkpoint(source_folder, torch.device("cpu"))
    key = cache_key(info, IndexParams())
    manifest = read_manifest(index_dir(folder))
    if manifest is not None and manifest.get("key") == key and manifest["n_items"] == n_items:
        return name, manifest["params"]["synthetic"]
    say(f"browser: writing the synthetic {n_items:,}-item index {folder} (minutes)")
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for file in ("config.json", "model.safetensors"):
        shutil.copy2(source_folder / file, folder / file)
    facts = {
        "source": str(source_folder),
        "n_items": n_items,
        "construction": "copies of the source items: jittered latents, exact PCA positions, "
        "jittered UMAP positions, the source's images, labels and metadata (bench/synthetic.py)",
        "latent_jitter_std": LATENT_JITTER,
        "map_jitter_of_median_nn": MAP_JITTER,
        "seed": SEED,
    }
    index = synthesize(load_source(source_folder), n_items, key, facts)
    from app.index.store import save_index

    save_index(index, index_dir(folder))
    facts["build_seconds"] = time.perf_counter() - started
    say(f"browser: synthetic index written in {facts['build_seconds']:.0f} s")
    return name, facts


def load_source(folder: Path) -> Any:
    from app.index.store import load_index
    from app.workspace import index_dir

    return load_index(index_dir(folder))


def synthesize(source: Any, n_items: int, key: str, facts: dict[str, Any]) -> Any:
    """The synthetic LatentIndex (see the module docstring)."""
    from scipy.spatial import cKDTree

    from app.index.inverse import InverseMap
    from app.index.store import LatentIndex
    from models.data.items import ItemColumns

    n = len(source)
    rng = np.random.default_rng(SEED)
    ids = np.arange(n_items)
    src = ids % n  # (N,) source item of each synthetic item
    copy = ids // n  # 0 for the originals
    jittered = copy > 0
    latents = source.latents[src].astype(np.float32)  # (N, D)
    noise = rng.standard_normal((int(jittered.sum()), source.latent_dim)).astype(np.float32)
    latents[jittered] += noise * (LATENT_JITTER * source.latents.std(0)).astype(np.float32)
    projections: dict[str, Any] = {}
    inverses: dict[str, InverseMap] = {}
    for pname, projection in source.projections.items():
        if pname == "pca":
            embedding = projection.transform(latents)  # (N, 2), the exact linear map
        else:
            xy = projection.embedding_
            spacing = float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1]))
            embedding = xy[src].astype(np.float32)
            shift = rng.standard_normal((int(jittered.sum()), 2)) * MAP_JITTER * spacing
            embedding[jittered] += shift.astype(np.float32)
        arrays = dict(projection.to_arrays()) | {"embedding": embedding}
        projections[pname] = type(projection).from_arrays(arrays, latents)
        inverses[pname] = InverseMap().fit(embedding, latents)
    names = np.array(
        [
            f"{source.item_names[s]}~{k}" if k else str(source.item_names[s])
            for s, k in zip(src, copy, strict=True)
        ]
    )
    quality = dict(source.quality) | {
        "n_items": n_items,
        "synthetic": f"copied from the {n:,}-item source index (bench/synthetic.py)",
    }
    items = ItemColumns(
        item_names=names,
        labels=source.labels[src] if source.labels is not None else None,
        label_field=source.label_field,
        label_names=source.label_names,
        metadata={k: v[src] for k, v in source.metadata.items()},
        images=source.images[src],
        latents=latents,
        errors=source.errors[src],
    )
    return LatentIndex(
        items=items,
        projections=projections,
        inverses=inverses,
        quality=quality,
        timings={},
        key=key,
        data_sha256="synthetic",
        params=dict(source.params) | {"synthetic": facts},
    )

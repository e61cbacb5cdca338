"""GET .../search at scale: a query over a million items, with the model's prepared columns
(``Searchable``, what the server keeps per model) against the same query on the bare index
(every column converted and lower-cased again, as before the server kept them), in the same
run. The items are synthetic: names like ``imgs/item_0001234.png``, a ten-class label, a
three-value text column and a number column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.index.store import LatentIndex
from app.services.search import Searchable, search
from bench.stats import Figure, Stats, count_tag
from models.data.items import ItemColumns

QUERIES = {  # key -> (query, what it exercises)
    "label": ("digit=3", "a text field equal"),
    "mixed": ("colour=blue scale>0.5", "a text field and a number"),
    "name": ("item_00012", "a bare word in the names"),
}


@dataclass(frozen=True)
class SearchConfig:
    items: int = 1_000_000
    reps: int = 5
    seed: int = 0


def synthetic_index(n: int, seed: int) -> LatentIndex:
    rng = np.random.default_rng(seed)
    items = ItemColumns(
        item_names=np.array([f"imgs/item_{i:07d}.png" for i in range(n)]),
        labels=rng.integers(0, 10, n),
        label_field="digit",
        label_names=tuple(str(d) for d in range(10)),
        metadata={
            "colour": rng.choice(np.array(["red", "green", "Blue"]), n),
            "scale": rng.random(n),
        },
        latents=np.zeros((n, 2), np.float32),
    )
    return LatentIndex(items=items, projections={}, inverses={})


def bench_search(config: SearchConfig) -> list[Figure]:
    index = synthetic_index(config.items, config.seed)
    start = time.perf_counter()
    ready = Searchable.of(index)
    prepare = time.perf_counter() - start
    figures = []
    for key, (query, what) in QUERIES.items():
        prepared, bare = [], []
        for _ in range(config.reps):
            start = time.perf_counter()
            count = search(ready, query).count
            prepared.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert search(index, query).count == count
            bare.append(time.perf_counter() - start)
        figures.append(
            Figure(
                f"search_{key}_{count_tag(config.items)}",
                "search",
                f"search `{query}` ({what}) over {config.items:,} items, prepared columns",
                Stats.of([1000 * s for s in prepared], "ms"),
                baseline_label="the same on the bare index",
                baseline=Stats.of([1000 * s for s in bare], "ms"),
                details={"matches": count, "prepare_seconds": round(prepare, 3)},
            )
        )
    return figures

"""Persistent homology of a model's latents, for the Topology tab and the compare page.

The computation (app/index/topology.py) runs in the analysis process on first request, for the
whole set and for each class, and is kept on the model (``LoadedModel.topology``): every later
request, a bar click included, is answered from memory. Concurrent first requests share the
one computation; a failed one is forgotten so that the next request tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.topology import Topology, diagram_distances
from app.services.analysis import AnalysisPool
from app.services.loaded import LoadedModel
from models.errors import InvalidInputError

log = logging.getLogger(__name__)

CLASS_LANDMARKS = 500  # per class: enough for its shape, and ten classes stay cheap
MAX_CLASSES = 50  # past this many labels, per-class diagrams are left out
SEED = 0


@dataclass(frozen=True)
class ClassTopology:
    label: str
    n_items: int
    dgms: list[np.ndarray]  # [H0, H1], (n, 2) birth, death


@dataclass(frozen=True)
class TopologyReport:
    whole: Topology
    classes: list[ClassTopology]
    n_items: int
    seconds: float


def compute(
    latents: np.ndarray, labels: np.ndarray | None, label_names: list[str], max_points: int
) -> TopologyReport:
    """The whole set's topology (on at most ``max_points`` landmarks) and each class's diagrams.
    Runs in the analysis process."""
    start = time.perf_counter()
    whole = Topology(max_points, SEED).fit(latents)
    classes: list[ClassTopology] = []
    if labels is not None and 2 <= len(label_names) <= MAX_CLASSES:
        for code, name in enumerate(label_names):
            rows = np.flatnonzero(labels == code)
            if len(rows) >= 3:
                fitted = Topology(min(CLASS_LANDMARKS, max_points), SEED).fit(latents[rows])
                classes.append(ClassTopology(name, len(rows), fitted.dgms_))
    return TopologyReport(whole, classes, len(latents), time.perf_counter() - start)


async def topology(m: LoadedModel, pool: AnalysisPool, max_points: int) -> TopologyReport:
    """``m``'s topology: computed once in ``pool``, shared by concurrent callers, then kept."""
    task = m.topology
    if task is None:
        items = m.index.items
        task = asyncio.ensure_future(
            pool.run(compute, items.latents, m.index.labels, list(m.index.label_names), max_points)
        )
        task.add_done_callback(_forget_failure(m))
        m.topology = task
    # shield: a caller that leaves (a closed tab) does not cancel the others' result.
    report: TopologyReport = await asyncio.shield(task)
    return report


def _forget_failure(m: LoadedModel) -> Callable[[asyncio.Future[Any]], None]:
    """A failed (or cancelled) computation is read here, logged, and forgotten, so the next
    request tries again and no exception is left unread when every caller has gone."""

    def done(task: asyncio.Future[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.warning("topology of %s failed: %r", m.name, task.exception())
            if m.topology is task:
                m.topology = None

    return done


def h0_groups(report: TopologyReport, bar: int) -> tuple[list[int], list[int]]:
    """The item ids of the two groups that merge at H0 bar ``bar``."""
    a, b = report.whole.h0_groups(bar)
    return a.tolist(), b.tolist()


def h1_items(report: TopologyReport, bar: int) -> list[int]:
    """The item ids of the landmarks on H1 bar ``bar``'s representative cocycle."""
    return report.whole.h1_points(bar).tolist()


def distances(a: list[np.ndarray], b: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Bottleneck and Wasserstein distances between two models' H0 and H1 diagrams
    (``[H0, H1]`` each). Runs in the analysis process: it takes up to about a second."""
    return {f"h{dim}": diagram_distances(a[dim], b[dim]) for dim in (0, 1)}


def check_bar(report: TopologyReport, dim: int, bar: int) -> None:
    """A clear 422 for a bar that is not there (the topology functions raise it too; this names
    the model's counts)."""
    count = len(report.whole.merges_) if dim == 0 else len(report.whole.cocycles_)
    if not 0 <= bar < count:
        kind = "finite H0" if dim == 0 else "H1"
        raise InvalidInputError(
            f"bar must be one of the {count} {kind} bars, 0 to {count - 1}; got {bar}",
            code="no_such_bar",
        )

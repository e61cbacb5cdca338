"""What a lasso or box selection holds: its labels against the whole set's, its average member
and medoid, its reconstruction errors and faithfulness against the whole set's, and a summary
of each metadata field.

Everything here is arithmetic over the index (no torch) and runs on a thread off the event
loop; only the average member's image is decoded, on the inference worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np

from app.index.store import LatentIndex
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel
from app.services.placing import decode
from app.services.refs import projection_name
from models.errors import InvalidInputError, NotFoundError

MAX_SELECTION = 1_000_000  # ids in one request (a selection is at most every item)
MEDOID_EXACT = 2000  # exact medoid up to this many items: a 2000 x 2000 distance matrix
MEDOID_SEED = 0
N_BINS = 20
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_VALUES = 5

T = TypeVar("T")


@dataclass
class LabelCount:
    label: str
    count: int  # in the selection
    share: float  # of the selection
    total: int  # in the whole set
    total_share: float  # of the whole set


@dataclass
class Distribution:
    """One per-item value in the selection against the whole set, on the whole set's bins."""

    edges: list[float]  # N_BINS + 1 bin edges spanning the whole set's range
    counts: list[int]  # the selection's items per bin
    total_counts: list[int]  # the whole set's items per bin
    levels: list[float]  # the quantile levels (QUANTILES)
    quantiles: list[float] | None  # the selection's values at those levels; None: no values
    total_quantiles: list[float] | None
    mean: float | None
    total_mean: float | None


@dataclass
class Medoid:
    id: int
    name: str
    exact: bool  # False: the medoid of a seeded sample of the selection
    sample_size: int  # the items it was chosen among (the whole selection when exact)


@dataclass
class TopValue:
    value: str
    count: int


@dataclass
class FieldSummary:
    field: str
    kind: str  # "number" or "text"
    mean: float | None = None  # numbers: over the selection's finite values
    min: float | None = None
    max: float | None = None
    total_mean: float | None = None  # the whole set's mean, to compare with
    top: list[TopValue] = dataclasses.field(default_factory=list)  # text: the commonest
    n_distinct: int | None = None  # text: distinct values in the selection


@dataclass
class SelectionStats:
    projection: str
    count: int  # distinct items selected
    n_items: int
    labels: list[LabelCount] | None  # None: the model's items have no labels
    mean_latent: np.ndarray  # (D,) float32
    average_member: np.ndarray | None  # (C, H, W) the mean latent decoded; None: no decoder
    medoid: Medoid
    reconstruction_error: Distribution | None  # None: no decoder
    faithfulness: Distribution | None  # None: the projection has none (under 11 items)
    metadata: list[FieldSummary]
    notes: list[str]


def selected_ids(m: LoadedModel, ids: list[int]) -> np.ndarray:
    """The distinct item ids of a selection, ascending; 422 ``empty_selection`` for none, 404
    ``unknown_item`` for an id the model does not have (an item id is a name)."""
    if not ids:
        raise InvalidInputError(
            "ids is empty: select at least one item (a lasso or box on the map)",
            code="empty_selection",
        )
    n = len(m.index)
    # Checked in Python first: an id past int64 would overflow numpy's conversion.
    bad = [i for i in ids if not 0 <= i < n]
    if bad:
        shown = ", ".join(str(i)[:20] for i in bad[:5])
        raise NotFoundError(
            f"model {m.name!r} has no items [{shown}]: ids run from 0 to {n - 1}",
            code="unknown_item",
        )
    return np.unique(np.asarray(ids, dtype=np.int64))


def selection_stats(m: LoadedModel, ids: np.ndarray, projection: str) -> SelectionStats:
    """Every figure of a (checked, distinct) selection except the decoded image."""
    index = m.index
    latents = index.latents[ids].astype(np.float64)  # (n, D)
    medoid = medoid_of(index, ids)
    faith = index.faithfulness.get(projection)
    errors = index.errors
    return SelectionStats(
        projection=projection,
        count=len(ids),
        n_items=len(index),
        labels=label_counts(index, ids, whole_set(m, "labels", partial(label_totals, index))),
        mean_latent=latents.mean(0).astype(np.float32),
        average_member=None,
        medoid=medoid,
        reconstruction_error=None
        if errors is None
        else distribution(errors, ids, whole_set(m, "errors", partial(baseline, errors))),
        faithfulness=None
        if faith is None
        else distribution(
            faith, ids, whole_set(m, f"faith:{projection}", partial(baseline, faith))
        ),
        metadata=[
            summarise(name, column, ids, whole_set(m, f"mean:{name}", partial(mean_of, column)))
            for name, column in index.metadata.items()
        ],
        notes=_notes(m, medoid, faith is not None, len(ids)),
    )


def whole_set(m: LoadedModel, key: str, compute: Callable[[], T]) -> T:
    """A figure of the whole set, computed once per model and kept (at a million items the
    quantiles alone take a few hundred ms). Two first requests may both compute it: the same
    value, one kept."""
    if key not in m.selection_cache:
        m.selection_cache[key] = compute()
    value: T = m.selection_cache[key]
    return value


def _notes(m: LoadedModel, medoid: Medoid, has_faithfulness: bool, count: int) -> list[str]:
    """What is approximate or missing, in words."""
    notes = []
    if not medoid.exact:
        notes.append(
            f"the medoid is exact among a seeded sample of {medoid.sample_size} of the "
            f"{count} selected items, not among all of them"
        )
    if not m.can_decode:
        notes.append(f"model {m.name!r} has no decoder: there is no average-member image")
    if m.index.errors is None:
        notes.append(
            f"model {m.name!r} has no reconstruction errors (no decoder of its own): there is "
            "no error distribution"
        )
    if not has_faithfulness:
        notes.append("this projection has no faithfulness figures (under 11 items)")
    return notes


async def describe_selection(
    worker: InferenceWorker, m: LoadedModel, ids: list[int], projection: str | None
) -> SelectionStats:
    """POST .../selection/stats: the figures (computed on a thread, off the event loop and off
    the inference thread) and the average member, decoded on the inference worker when the
    model has a decoder."""
    chosen = selected_ids(m, ids)
    name = projection_name(m, projection)
    stats = await asyncio.to_thread(selection_stats, m, chosen, name)
    if m.can_decode:
        stats.average_member = (await decode(worker, m, stats.mean_latent[None]))[0]
    return stats


def label_totals(index: LatentIndex) -> np.ndarray | None:
    """(K,) items per label in the whole set; None without labels."""
    if index.labels is None or not index.label_names:
        return None
    k = len(index.label_names)
    labels = index.labels
    return np.bincount(labels[(labels >= 0) & (labels < k)], minlength=k)


def label_counts(
    index: LatentIndex, ids: np.ndarray, whole: np.ndarray | None
) -> list[LabelCount] | None:
    """Each label's count and share in the selection and in the whole set, in label order."""
    if whole is None or index.labels is None:
        return None
    k = len(index.label_names)
    picked = index.labels[ids]
    chosen = np.bincount(picked[(picked >= 0) & (picked < k)], minlength=k)
    return [
        LabelCount(
            label=name,
            count=int(chosen[j]),
            share=float(chosen[j] / len(ids)),
            total=int(whole[j]),
            total_share=float(whole[j] / len(index)),
        )
        for j, name in enumerate(index.label_names)
    ]


@dataclass
class Baseline:
    """The whole set's side of a Distribution."""

    edges: np.ndarray  # (N_BINS + 1,)
    counts: list[int]
    quantiles: list[float] | None
    mean: float | None


def baseline(values: np.ndarray) -> Baseline:
    """The whole set's bins (spanning its finite values), counts, quantiles and mean."""
    whole = values.astype(np.float64)
    whole = whole[np.isfinite(whole)]
    edges = np.histogram_bin_edges(whole, bins=N_BINS) if len(whole) else np.linspace(0, 1, 21)
    return Baseline(
        edges, np.histogram(whole, bins=edges)[0].tolist(), _quantiles(whole), _mean(whole)
    )


def distribution(values: np.ndarray, ids: np.ndarray, whole: Baseline) -> Distribution:
    """The selection's histogram and quantiles of ``values`` beside the whole set's, on the
    whole set's bins (so the two histograms line up); non-finite values left out."""
    picked = values[ids].astype(np.float64)
    picked = picked[np.isfinite(picked)]
    return Distribution(
        edges=whole.edges.tolist(),
        counts=np.histogram(picked, bins=whole.edges)[0].tolist(),
        total_counts=whole.counts,
        levels=list(QUANTILES),
        quantiles=_quantiles(picked),
        total_quantiles=whole.quantiles,
        mean=_mean(picked),
        total_mean=whole.mean,
    )


def _quantiles(values: np.ndarray) -> list[float] | None:
    if not len(values):
        return None
    return [float(q) for q in np.quantile(values, QUANTILES)]


def medoid_of(index: LatentIndex, ids: np.ndarray) -> Medoid:
    """The selected item whose latent has the least summed Euclidean distance to the others'
    (ties: the lowest id). Past MEDOID_EXACT items, exactly that among a seeded sample of
    MEDOID_EXACT of them: the matrix of all pairs would grow with the square of the selection."""
    exact = len(ids) <= MEDOID_EXACT
    pool = ids
    if not exact:
        rng = np.random.default_rng(MEDOID_SEED)
        pool = np.sort(rng.choice(ids, MEDOID_EXACT, replace=False))
    z = index.latents[pool].astype(np.float64)  # (n, D)
    totals = np.zeros(len(pool))
    squares = (z * z).sum(1)  # (n,)
    for first in range(0, len(pool), 500):  # 500 rows of the matrix at a time
        rows = z[first : first + 500]
        d2 = squares[first : first + 500, None] + squares[None, :] - 2.0 * rows @ z.T
        totals[first : first + 500] = np.sqrt(np.maximum(d2, 0.0)).sum(1)
    best = int(pool[int(np.argmin(totals))])
    return Medoid(best, str(index.item_names[best]), exact, len(pool))


def mean_of(column: np.ndarray) -> float | None:
    """A numeric column's mean over its finite values; None for text or no values."""
    if not np.issubdtype(column.dtype, np.number):
        return None
    values = column.astype(np.float64)
    return _mean(values[np.isfinite(values)])


def summarise(
    name: str, column: np.ndarray, ids: np.ndarray, total_mean: float | None
) -> FieldSummary:
    """Numbers: the selection's mean and range (beside the whole set's mean, ``total_mean``);
    text: its commonest values (ties by value) and how many distinct ones it holds."""
    if np.issubdtype(column.dtype, np.number):
        values = column[ids].astype(np.float64)
        values = values[np.isfinite(values)]
        if not len(values):
            return FieldSummary(name, "number", total_mean=total_mean)
        return FieldSummary(
            name,
            "number",
            mean=float(values.mean()),
            min=float(values.min()),
            max=float(values.max()),
            total_mean=total_mean,
        )
    found, counts = np.unique(column[ids].astype(np.str_), return_counts=True)
    order = np.lexsort((found, -counts))[:TOP_VALUES]  # by count descending, then value
    top = [TopValue(str(found[j]), int(counts[j])) for j in order]
    return FieldSummary(name, "text", top=top, n_distinct=len(found))


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None

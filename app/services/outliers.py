"""The items a model reconstructs worst: where to look for what it has not learned.

An item's reconstruction error is stored in the index; the outliers are the items with the
largest, worst first. Models without a decoder have no errors and so no outliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.index.store import LatentIndex
from app.services.loaded import LoadedModel
from models.errors import ConflictError

MAX_OUTLIERS = 1000  # a list to look through, not an export (the points carry every error)


@dataclass
class Outlier:
    id: int
    name: str
    error: float  # the item's reconstruction MSE
    label: str | None
    percentile: float  # share of items (in %) reconstructed at least as well, as for uploads


def list_outliers(m: LoadedModel, n: int) -> list[Outlier]:
    """GET .../outliers: the ``n`` items ``m`` reconstructs worst; 409 without a decoder."""
    return worst_reconstructed(m.index, m.name, n)


def worst_reconstructed(index: LatentIndex, model: str, n: int) -> list[Outlier]:
    """The ``n`` items with the largest reconstruction error, largest first, ties by id.

    The order is that of a stable ``np.argsort(-errors)``, found in O(N): the n-th largest
    error bounds the candidates, and items tied with it enter by ascending id.
    """
    errors = index.errors
    if errors is None:
        raise ConflictError(
            f"model {model!r} has no decoder, so its items have no reconstruction errors and "
            "no outliers; the map, neighbours and nearest images still work",
            code="no_decoder",
        )
    total = len(errors)
    n = min(n, total)
    if n == 0:
        return []
    bound = np.partition(errors, total - n)[total - n]  # the n-th largest error
    above = np.flatnonzero(errors > bound)
    tied = np.flatnonzero(errors == bound)[: n - len(above)]
    picked = np.concatenate([above, tied])
    picked = picked[np.lexsort((picked, -errors[picked]))]  # by error descending, then id
    # Every item with a larger error is among the picked (they come first), so the items
    # reconstructed at least as well as picked item j are all but those before its value.
    values = errors[picked]
    larger = np.searchsorted(-values, -values, side="left")  # (n,) picked errors above each
    percentiles = 100.0 * (total - larger) / total
    return [
        Outlier(
            id=int(i),
            name=str(index.item_names[i]),
            error=float(errors[i]),
            label=_label(index, int(i)),
            percentile=float(p),
        )
        for i, p in zip(picked, percentiles, strict=True)
    ]


def _label(index: LatentIndex, i: int) -> str | None:
    if index.labels is None or not 0 <= index.labels[i] < len(index.label_names):
        return None
    return index.label_names[int(index.labels[i])]

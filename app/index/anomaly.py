"""Anomaly scores of a model trained on its "normal" classes only (``train --normal-classes``).

Every item gets two scores, higher meaning more anomalous:

- the reconstruction error, where the model decodes (already an index column, ``errors``);
- the kNN score: the mean distance to the ``k`` nearest normal *training* latents (the items of
  the normal classes the model trained on; an item of that set is scored without itself), by
  ``knn_distance``, the one distance from the data the explorer reports everywhere.

The scores are computed once with the index and stored as its ``knn_scores`` column; the
ROC curves are app/services/anomaly.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.data_distance import knn_distance
from app.index.neighbors import NeighborIndex
from models.errors import ConfigError

ANOMALY_K = 5  # the course's k: small enough to stay local, large enough to smooth one stray


@dataclass(frozen=True)
class AnomalyScores:
    """The kNN scores of every item and what they were measured against.

    normal_classes: the label codes the model trained on, sorted
    k:              neighbours averaged
    knn:            (N,) float32, every item's mean distance to its k nearest normal
                    training latents (euclidean)
    """

    normal_classes: list[int]
    k: int
    knn: np.ndarray

    def manifest(self) -> dict[str, Any]:
        return {"normal_classes": self.normal_classes, "k": self.k}


def recorded_normal_classes(training: dict[str, Any]) -> list[int] | None:
    """The normal classes a checkpoint's ``training`` section records, or None."""
    config = training.get("config")
    classes = config.get("normal_classes") if isinstance(config, dict) else None
    if not isinstance(classes, list) or not classes:
        return None
    return sorted(int(c) for c in classes)


def reference_ids(
    labels: np.ndarray, normal_classes: Sequence[int], holdout_ids: Sequence[int] | None
) -> np.ndarray:
    """(R,) sorted ids of the normal training items: of a normal class and not held out."""
    normal = np.isin(labels, np.asarray(normal_classes, dtype=np.int64))
    if holdout_ids is not None and len(holdout_ids):
        normal[np.asarray(holdout_ids, dtype=np.int64)] = False
    return np.flatnonzero(normal)


def knn_scores(latents: np.ndarray, reference: np.ndarray, k: int = ANOMALY_K) -> np.ndarray:
    """(N,) float64 mean distance of each of ``latents`` to its ``k`` nearest among
    ``latents[reference]``; a reference item is scored against the others, not itself."""
    if len(reference) <= k:
        raise ConfigError(
            f"the kNN anomaly score needs more than k={k} normal training items, got "
            f"{len(reference)}"
        )
    search = NeighborIndex(latents[reference])
    position = np.full(len(latents), -1, dtype=np.int64)
    position[reference] = np.arange(len(reference))
    member = position >= 0
    scores = np.empty(len(latents), dtype=np.float64)
    scores[member] = knn_distance(search, latents[member], k, exclude=position[member])
    if (~member).any():
        scores[~member] = knn_distance(search, latents[~member], k)
    return scores


def anomaly_scores(
    latents: np.ndarray,
    labels: np.ndarray | None,
    normal_classes: Sequence[int] | None,
    holdout_ids: Sequence[int] | None,
    k: int = ANOMALY_K,
) -> AnomalyScores | None:
    """The items' kNN scores for a model trained on ``normal_classes``; None for a model
    trained on every class (or items without labels)."""
    if normal_classes is None or labels is None:
        return None
    classes = sorted(int(c) for c in normal_classes)
    reference = reference_ids(labels, classes, holdout_ids)
    knn = knn_scores(np.asarray(latents), reference, k).astype(np.float32)
    return AnomalyScores(normal_classes=classes, k=k, knn=knn)

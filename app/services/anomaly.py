"""Anomaly detection on a model trained on its normal classes only (``train --normal-classes``):
how well a score tells the classes it never saw from the normal ones.

Two scores, both higher for more anomalous items: the reconstruction error (where the model
decodes) and the kNN score (mean distance to the k nearest normal training latents,
app/index/anomaly.py). The ROC curve and its AUC compare the **held-out normal** items (normal
classes, never trained on) with every item of the anomalous classes: the training items' scores
are optimistic (the model fitted them), so they are shown in the distributions only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from app.index.anomaly import reference_ids
from app.index.build import recorded_holdout
from app.index.data_distance import knn_distance
from app.services.loaded import LoadedModel
from models.errors import ConflictError

Score = Literal["reconstruction", "knn"]
BINS = 40  # the histograms' bins, shared by every group so the bars compare
MAX_ROC_POINTS = 2_000  # a curve to draw: more points than pixels says nothing more

TRAINING, HELD_OUT, ANOMALOUS = "normal (trained on)", "normal (held out)", "anomalous"


@dataclass
class Group:
    name: str
    n_items: int
    counts: list[int]  # (BINS,) items per bin


@dataclass
class Roc:
    fpr: list[float]  # share of held-out normal items at or above each threshold
    tpr: list[float]  # share of anomalous items at or above each threshold
    thresholds: list[float]  # descending; the first is above every score (nothing flagged)
    auc: float


@dataclass
class AnomalyReport:
    score: Score
    k: int | None  # the kNN score's neighbours; None for the reconstruction score
    normal_classes: list[str]
    anomalous_classes: list[str]
    edges: list[float]  # (BINS + 1,) bin edges
    groups: list[Group]  # trained on, held out, anomalous
    roc: Roc | None  # None when there are no held-out normal items or no anomalous ones
    scores: list[float]  # (N,) every item's score, in id order
    item_groups: list[int]  # (N,) each item's index in ``groups``


def require_anomaly(m: LoadedModel, score: Score) -> np.ndarray:
    """(N,) the items' ``score``; 409 for a model trained on every class, or for the
    reconstruction score of a model without a decoder."""
    if m.index.anomaly is None:
        raise ConflictError(
            f"model {m.name!r} was trained on every class, so nothing is anomalous to it: train "
            "one on the normal classes only, e.g. `latent-explorer train --dataset digits "
            "--exclude-classes 9` (or --normal-classes 0,1,2,3,4,5,6,7,8)",
            code="no_normal_classes",
        )
    if score == "knn":
        return np.asarray(m.index.anomaly.knn, dtype=np.float64)
    if m.index.errors is None:
        raise ConflictError(
            f"model {m.name!r} has no decoder, so no reconstruction error: use score=knn",
            code="no_decoder",
        )
    return np.asarray(m.index.errors, dtype=np.float64)


def item_groups(m: LoadedModel) -> np.ndarray:
    """(N,) 0 for normal items trained on, 1 for held-out normal items, 2 for anomalous ones."""
    assert m.index.anomaly is not None and m.index.labels is not None
    classes = m.index.anomaly.normal_classes
    groups = np.where(np.isin(m.index.labels, classes), 1, 2)
    # the normal items trained on: the kNN score's own reference set
    groups[reference_ids(m.index.labels, classes, recorded_holdout(m.info))] = 0
    return groups


def anomaly_report(m: LoadedModel, score: Score) -> AnomalyReport:
    """GET .../anomaly: the score's distributions, ROC curve and AUC (see the module)."""
    values = require_anomaly(m, score)
    assert m.index.anomaly is not None
    groups = item_groups(m)
    lo, hi = float(values.min()), float(values.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, BINS + 1)
    names = (TRAINING, HELD_OUT, ANOMALOUS)
    histograms = [
        Group(name, int((groups == g).sum()), np.histogram(values[groups == g], edges)[0].tolist())
        for g, name in enumerate(names)
    ]
    normal = set(m.index.anomaly.normal_classes)
    assert m.index.labels is not None  # an index with anomaly scores has labels
    present = sorted(int(c) for c in np.unique(m.index.labels))
    return AnomalyReport(
        score=score,
        k=m.index.anomaly.k if score == "knn" else None,
        normal_classes=[class_name(m, c) for c in present if c in normal],
        anomalous_classes=[class_name(m, c) for c in present if c not in normal],
        edges=edges.tolist(),
        groups=histograms,
        roc=roc_curve(values[groups == 1], values[groups == 2], top=hi),
        scores=values.astype(np.float32).tolist(),
        item_groups=groups.tolist(),
    )


def anomaly_json(m: LoadedModel, score: Score) -> bytes:
    """GET .../anomaly's body: the report as ``AnomalyOut`` JSON, made once per score and
    kept (at a million items, 0.2 s and 21 MB). Synchronous: call it off the event loop."""
    from app.schemas import AnomalyOut

    if score not in m.anomaly_answers:
        report = AnomalyOut(model=m.name, **asdict(anomaly_report(m, score)))
        m.anomaly_answers[score] = report.model_dump_json().encode()
    return m.anomaly_answers[score]


def class_name(m: LoadedModel, code: int) -> str:
    names = m.index.label_names
    return names[code] if 0 <= code < len(names) else str(code)


def roc_curve(negatives: np.ndarray, positives: np.ndarray, top: float | None = None) -> Roc | None:
    """The ROC curve of flagging ``score >= threshold``, at every distinct score (thinned to
    ``MAX_ROC_POINTS`` for drawing), and its exact AUC (ties count half). The first threshold
    is just above ``top`` (default: the largest score here): nothing is flagged."""
    if not len(negatives) or not len(positives):
        return None
    scores = np.concatenate([negatives, positives])
    is_pos = np.concatenate([np.zeros(len(negatives)), np.ones(len(positives))])
    order = np.argsort(-scores, kind="stable")
    scores, is_pos = scores[order], is_pos[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # last of each tie run
    tp = np.cumsum(is_pos)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / len(positives)]
    fpr = np.r_[0.0, fp / len(negatives)]
    ceiling = max(float(scores[0]), top if top is not None else -np.inf)
    thresholds = np.r_[np.nextafter(ceiling, np.inf), scores[last]]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    if len(fpr) > MAX_ROC_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, MAX_ROC_POINTS).round().astype(np.int64))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    return Roc(fpr.tolist(), tpr.tolist(), thresholds.tolist(), auc)


def upload_knn_score(m: LoadedModel, latent: np.ndarray) -> float | None:
    """An upload's kNN score (its mean distance to the k nearest normal training latents), as
    the items' were measured; None for a model trained on every class."""
    search = m.normal_search()
    if search is None or m.index.anomaly is None:
        return None
    return float(knn_distance(search, latent[None], m.index.anomaly.k)[0])

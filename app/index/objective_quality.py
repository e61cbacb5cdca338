"""The quality figures that tell training objectives apart, from latents and item columns.

Stored in the index's quality beside the older figures (app/index/fitting.py calls
``objective_quality``); docs/objectives.md gives every formula. Figures that need a model
(alignment, denoising) are app/index/model_measures.py's.

The label and factor read-outs are scored on a split named in ``split``:
- ``"held-out"``: fitted on the items the encoder trained on, scored on the items it never
  saw (the model's recorded ``training.holdout_ids``); a supervised kind is not credited for
  remembering the labels it was trained on.
- ``"all items, cross-validated"``: for models with no recorded split (imports), 5-fold
  cross-validation over a seeded sample of the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.measures import (
    fit_quietly,
    knn_classifier,
    knn_regressor,
    latent_std_ratio,
    linear_probe,
    psnr,
    uniformity,
)
from models.data.items import ItemColumns
from models.data.shapes import factor_targets

HELD_OUT = "held-out"
CROSS_VALIDATED = "all items, cross-validated"
SPLIT_TRAIN_MAX = 10_000  # fit subsample: a probe on 10k latents is about a second
SPLIT_TEST_MAX = 5_000  # scored subsample: +-0.7 % standard error at worst
CV_MAX = 5_000  # cross-validated sample when there is no split
FOLDS = 5
MIN_ITEMS = 20  # fewer: no read-out figure (every fold would be a handful of items)
UNIFORMITY_MAX = 2_000  # pairs grow with the square: 2,000 items are 2 M pairs, ~0.1 s
KNN_K = 5  # the classification read-out (the k)
REGRESSION_K = 10  # the factor R^2 read-out, as the older factor_r2 figure


@dataclass(frozen=True)
class Split:
    """Where a read-out is fitted and scored: (train, test) index pairs and their name."""

    name: str
    folds: list[tuple[np.ndarray, np.ndarray]]

    @property
    def n_test(self) -> int:
        return int(sum(len(test) for _, test in self.folds))


def make_split(n: int, holdout_ids: Sequence[int] | None, seed: int) -> Split | None:
    """The held-out split when ``holdout_ids`` are a usable split of ``n`` items, else 5-fold
    cross-validation on a seeded sample; None when there are too few items for either."""
    rng = np.random.default_rng(seed)
    held = np.unique(np.asarray(holdout_ids if holdout_ids is not None else [], dtype=np.int64))
    if held.size and held.min() >= 0 and held.max() < n and n - held.size >= MIN_ITEMS:
        train = np.setdiff1d(np.arange(n), held)
        train = _sample(train, SPLIT_TRAIN_MAX, rng)
        return Split(HELD_OUT, [(train, _sample(held, SPLIT_TEST_MAX, rng))])
    if n < MIN_ITEMS:
        return None
    from sklearn.model_selection import KFold

    sample = _sample(np.arange(n), CV_MAX, rng)
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(sample)
    return Split(CROSS_VALIDATED, [(sample[a], sample[b]) for a, b in folds])


def _sample(ids: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(ids, cap, replace=False)) if len(ids) > cap else ids


def predict(
    estimator: Any, z: np.ndarray, y: np.ndarray, split: Split
) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) targets of the test items of every fold, each fold fitted afresh."""
    from sklearn.base import clone

    true, predicted = [], []
    for train, test in split.folds:
        fitted = fit_quietly(clone(estimator), z[train], y[train])
        true.append(y[test])
        predicted.append(fitted.predict(z[test]))
    return np.concatenate(true), np.concatenate(predicted)


def accuracy(estimator: Any, z: np.ndarray, y: np.ndarray, split: Split) -> float | None:
    """Share of test items whose class is predicted right; None when some fold's training
    part has a single class (nothing to tell apart)."""
    if any(len(np.unique(y[train])) < 2 for train, _ in split.folds):
        return None
    true, predicted = predict(estimator, z, y, split)
    return float(np.mean(true == predicted))


def r2(z: np.ndarray, y: np.ndarray, split: Split) -> float:
    """R^2 of the k-NN regression of ``y`` (N,) or (N, F) (averaged over the F columns)."""
    from sklearn.metrics import r2_score

    true, predicted = predict(knn_regressor(REGRESSION_K), z, y, split)
    return float(r2_score(true, predicted))


def objective_quality(
    items: ItemColumns, latents: np.ndarray, holdout_ids: Sequence[int] | None, seed: int
) -> dict[str, Any]:
    """Uniformity, the latent spread ratio, reconstruction PSNR (with a decoder), and the
    split read-outs: kNN and linear-probe label accuracy, and on shapes the factor R^2 and
    shape accuracy. Figures that need what the items lack are left out."""
    z = np.asarray(latents, dtype=np.float64)
    quality: dict[str, Any] = {"latent_std_ratio": latent_std_ratio(z)}
    if len(z) >= 2:  # a pair at least
        quality["uniformity"] = uniformity(z, t=2.0, max_items=UNIFORMITY_MAX, seed=seed)
    if items.errors is not None:
        quality["reconstruction_psnr"] = psnr(float(np.mean(items.errors)))
    split = make_split(len(z), holdout_ids, seed)
    if split is None:
        return quality
    readouts: dict[str, Any] = {}
    if items.labels is not None:
        labels = np.asarray(items.labels)
        readouts["split_knn_accuracy"] = accuracy(knn_classifier(KNN_K), z, labels, split)
        readouts["probe_accuracy"] = accuracy(linear_probe(), z, labels, split)
    targets = factor_targets(items.metadata)
    if targets is not None:
        readouts["shape_factor_r2"] = {key: r2(z, y, split) for key, y in targets.items()}
        shape = np.asarray(items.metadata["shape"]).astype(np.str_)
        readouts["shape_accuracy"] = accuracy(knn_classifier(KNN_K), z, shape, split)
    readouts = {key: value for key, value in readouts.items() if value is not None}
    if readouts:
        quality |= {"split": split.name, "split_n_test": split.n_test} | readouts
    return quality

"""How good is a latent space, and how faithful is its 2D map?

Two questions, four numbers:
- Does the latent space organise the data? `knn_accuracy` (class labels) and `knn_r2`
  (continuous factors such as stroke width) ask whether an item's latent neighbours predict its
  label, cross-validated so an item never votes for itself.
- Does the map keep the latent neighbourhoods? `trustworthiness` (one number, sklearn's
  definition, on a seeded subsample) and `neighbor_preservation` (one number per item, to
  colour the map by where it can be trusted).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from app.index.faithfulness import shared_counts, without_self
from models.errors import ConfigError


def knn_accuracy(
    Z: npt.ArrayLike, labels: npt.ArrayLike, k: int = 5, folds: int = 5, seed: int = 0
) -> float:
    """Stratified `folds`-fold cross-validated accuracy of a k-NN classifier on the latents.

    Every item is predicted once, by a model fitted on the other folds; the result is the
    fraction predicted correctly (1.0 = neighbours always share the label; chance is about the
    largest class's share).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    data = _as_matrix(Z, "Z")
    y = _as_targets(labels, "labels", data.shape[0])
    _check_cv(k, folds, seed, data.shape[0])
    _, class_counts = np.unique(y, return_counts=True)
    if class_counts.size < 2 or class_counts.max() < folds:
        raise ConfigError(
            f"folds must be at most the size of the largest class ({class_counts.max()}) and "
            f"labels need at least 2 classes; got folds={folds}, {class_counts.size} class(es)"
        )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsClassifier(n_neighbors=k), data, y, cv=cv)
    return float(np.mean(predicted == y))


def knn_r2(
    Z: npt.ArrayLike, values: npt.ArrayLike, k: int = 10, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated R^2 of a k-NN regressor predicting continuous factors from the latents.

    `values` is (N,) or (N, F) (R^2 averaged over the F factors). 1.0 is perfect, 0.0 is no
    better than predicting the mean, and it can go negative.
    """
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor

    data = _as_matrix(Z, "Z")
    y = _as_targets(values, "values", data.shape[0], numeric=True)
    _check_cv(k, folds, seed, data.shape[0])
    cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsRegressor(n_neighbors=k), data, y, cv=cv)
    return float(r2_score(y, predicted))


def trustworthiness(
    Z: npt.ArrayLike,
    xy: npt.ArrayLike,
    n_neighbors: int = 10,
    max_points: int = 5000,
    seed: int = 0,
) -> float:
    """sklearn's trustworthiness of the map `xy` for the latents `Z`, in [0, 1].

    It penalises map neighbours that are not latent neighbours. sklearn computes full N x N
    distance matrices, so at most `max_points` items (a seeded random subset) are used.
    """
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    data = _as_matrix(Z, "Z")
    points = _as_matrix(xy, "xy")
    if points.shape[0] != data.shape[0]:
        raise ConfigError(
            f"xy must have one row per latent; got {points.shape[0]} rows for {data.shape[0]}"
        )
    _check_int(max_points, "max_points", low=4)
    _check_int(seed, "seed", low=0)
    n = min(data.shape[0], max_points)
    # sklearn requires n_neighbors < n_samples / 2.
    _check_int(n_neighbors, "n_neighbors", low=1, high=(n - 1) // 2)
    if n < data.shape[0]:
        keep = np.sort(np.random.default_rng(seed).choice(data.shape[0], n, replace=False))
        data, points = data[keep], points[keep]
    return float(sk_trustworthiness(data, points, n_neighbors=n_neighbors))


def neighbor_preservation(
    Z: npt.ArrayLike, xy: npt.ArrayLike, k: int = 10
) -> npt.NDArray[np.float64]:
    """Per item (N,): the fraction of its k nearest latent neighbours that are also among its
    k nearest map neighbours (1.0 = the map keeps this item's neighbourhood intact).

    Exact euclidean neighbours in both spaces, the item itself excluded; among equally distant
    candidates the k-d tree's choice stands.
    """
    data = _as_matrix(Z, "Z")
    points = _as_matrix(xy, "xy")
    if points.shape[0] != data.shape[0]:
        raise ConfigError(
            f"xy must have one row per latent; got {points.shape[0]} rows for {data.shape[0]}"
        )
    _check_int(k, "k", low=1, high=data.shape[0] - 1)
    latent_nn = _kdtree_neighbours(data, k)  # (N, k)
    map_nn = _kdtree_neighbours(points, k)  # (N, k)
    return shared_counts(latent_nn, map_nn) / k


def _kdtree_neighbours(data: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]:
    """The k nearest other items of every item, (N, k), by an exact k-d tree."""
    _, idx = cKDTree(data).query(data, k=k + 1)
    return without_self(np.asarray(idx, dtype=np.int64).reshape(data.shape[0], k + 1))


def _as_matrix(x: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ConfigError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ConfigError(f"{name} must have shape (N, D) with N, D >= 1; got {arr.shape}")
    out = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ConfigError(f"{name} must be finite; it contains NaN or infinity")
    return out


def _as_targets(
    y: npt.ArrayLike, name: str, n: int, *, numeric: bool = False
) -> npt.NDArray[np.generic]:
    arr = np.asarray(y)
    if arr.shape[:1] != (n,) or arr.ndim > (2 if numeric else 1):
        allowed = "(N,) or (N, F)" if numeric else "(N,)"
        raise ConfigError(f"{name} must have shape {allowed} with N = {n}; got {arr.shape}")
    if numeric:
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ConfigError(f"{name} must be numeric; got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ConfigError(f"{name} must be finite; it contains NaN or infinity")
    return arr


def _check_cv(k: int, folds: int, seed: int, n: int) -> None:
    _check_int(folds, "folds", low=2, high=n)
    # The smallest training split has n - ceil(n / folds) items; k-NN needs k of them.
    _check_int(k, "k", low=1, high=n - -(-n // folds))
    _check_int(seed, "seed", low=0)


def _check_int(value: object, name: str, *, low: int, high: int | None = None) -> None:
    allowed = f"from {low} to {high}" if high is not None else f">= {low}"
    if high is not None and low > high:
        raise ConfigError(f"too few items for {name}: it must be an integer {allowed}")
    if (
        not isinstance(value, int | np.integer)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        raise ConfigError(f"{name} must be an integer {allowed}; got {value!r}")

"""Measures that tell training objectives apart, as functions over arrays.

- ``alignment`` and ``uniformity`` (Wang and Isola, 2020) of L2-normalised latents: how close
  two views of one image land, and how evenly the latents cover the sphere.
- ``holdout_knn_accuracy`` and ``linear_probe_accuracy``: fitted on the items the encoder
  trained on, scored on items it never saw, so a supervised objective is not credited for
  remembering the labels it was trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import ConfigError


def _unit(z: npt.ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(z, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2:
        raise ConfigError(f"{name} must be (N, D) with N >= 2; got shape {a.shape}")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.maximum(norms, 1e-12)


def alignment(z1: npt.ArrayLike, z2: npt.ArrayLike, alpha: float = 2.0) -> float:
    """Mean ``||f(x) - f(x')||^alpha`` over positive pairs (row i of each), after L2
    normalisation: 0 when two views always coincide, 4 at most (alpha 2). Lower is better."""
    a, b = _unit(z1, "z1"), _unit(z2, "z2")
    if a.shape != b.shape:
        raise ConfigError(f"z1 and z2 must have the same shape; got {a.shape} and {b.shape}")
    return float(np.mean(np.linalg.norm(a - b, axis=1) ** alpha))


def uniformity(z: npt.ArrayLike, t: float = 2.0, max_items: int = 4000, seed: int = 0) -> float:
    """``log E exp(-t ||f(x) - f(y)||^2)`` over distinct pairs of L2-normalised latents (on a
    seeded sample of at most ``max_items``). 0 when every latent is the same point (collapse);
    lower (more negative) is more uniform: about -4 + 8 / D for D dimensions spread evenly
    at t=2 (-3.5 for 16)."""
    u = _unit(z, "z")
    if len(u) > max_items:
        u = u[np.random.default_rng(seed).choice(len(u), max_items, replace=False)]
    sq = np.clip(2.0 - 2.0 * (u @ u.T), 0.0, None)  # squared distances of unit vectors
    i, j = np.triu_indices(len(u), k=1)
    values = -t * sq[i, j]
    peak = values.max()
    return float(peak + np.log(np.mean(np.exp(values - peak))))  # stable log-mean-exp


def holdout_knn_accuracy(
    z_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    z_test: npt.ArrayLike,
    y_test: npt.ArrayLike,
    k: int = 5,
) -> float:
    """Accuracy on the test items of a k-NN classifier fitted on the training items."""
    clf = knn_classifier(k).fit(np.asarray(z_train), np.asarray(y_train))
    return float(np.mean(clf.predict(np.asarray(z_test)) == np.asarray(y_test)))


def linear_probe_accuracy(
    z_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    z_test: npt.ArrayLike,
    y_test: npt.ArrayLike,
) -> float:
    """Accuracy on the test items of a logistic regression fitted on the (standardised)
    training latents: how much of the label a linear read-out finds."""
    probe = fit_quietly(linear_probe(), np.asarray(z_train, dtype=np.float64), y_train)
    predicted = probe.predict(np.asarray(z_test, dtype=np.float64))
    return float(np.mean(predicted == np.asarray(y_test)))


def knn_classifier(k: int = 5) -> Any:
    """The k-NN classifier (euclidean, uniform votes) every kNN accuracy here uses."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=k)


def knn_regressor(k: int = 10) -> Any:
    """The k-NN regressor (euclidean, mean of the neighbours) of the factor R^2 figures."""
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=k)


def linear_probe() -> Any:
    """Standardised latents into a multinomial logistic regression (L2, C=1, lbfgs)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def fit_quietly(estimator: Any, x: np.ndarray, y: npt.ArrayLike) -> Any:
    """``estimator.fit(x, y)`` without sklearn's convergence warning: a probe a little short
    of convergence after its iterations is still a fair read-out."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(x, np.asarray(y))


def latent_std_ratio(z: npt.ArrayLike) -> float:
    """Smallest over largest per-dimension standard deviation of the latents: near 0 when some
    dimensions collapsed to a constant while others carry the signal, 1 when all spread alike
    (0 too when every dimension is constant)."""
    a = np.asarray(z, dtype=np.float64)
    std = a.std(axis=0)
    top = float(std.max()) if std.size else 0.0
    # a constant column's std is rounding noise (~1e-19 of its value), not spread
    floor = 1e-12 * max(1.0, float(np.abs(a).max())) if a.size else 0.0
    return float(std.min()) / top if top > floor else 0.0


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error over pixels in [0, 1]:
    ``10 log10(1 / mse)`` (capped at 100 dB for a perfect copy)."""
    return float(min(100.0, 10.0 * np.log10(1.0 / max(float(mse), 1e-10))))

"""The registry of 2D maps of the latent space (``PROJECTIONS``), and PCA and UMAP.

The interface every projection implements, and the placement by latent neighbours that UMAP
shares with t-SNE (app/index/tsne.py), are in app/index/projection_base.py. A new projection is
a class there and one entry in ``PROJECTIONS``: the index fits every registered projection with
its ``index_params``, and the page lists what the model's index holds.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from app.index.projection_base import (
    FloatArray,
    NeighbourPlacedProjection,
    Projection,
    as_latents,
    check_name,
    check_restored,
    check_seed,
)
from app.index.tsne import TSNEProjection
from models.errors import ConfigError

__all__ = [
    "DEFAULT_PROJECTION",
    "PROJECTIONS",
    "PCAProjection",
    "Projection",
    "TSNEProjection",
    "UMAPProjection",
    "make_projection",
    "projection_from_arrays",
]


class PCAProjection(Projection):
    """The plane of the two largest principal components; `transform` is the exact linear map.

    Args:
        seed: accepted so every projection is built the same way; the solver is an exact
            eigendecomposition (of the D x D covariance, or of the N x N Gram matrix when there
            are fewer latents than dimensions), so the result does not depend on it.
    """

    name = "pca"
    label = "PCA"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, Z: npt.ArrayLike) -> Self:
        """Fit the two leading principal axes of (N, D) latents; needs N >= 2 and D >= 2."""
        check_seed(self.seed)
        data = as_latents(Z, "Z")
        if data.shape[0] < 2 or data.shape[1] < 2:
            raise ConfigError(f"PCA needs Z with at least 2 rows and 2 columns; got {data.shape}")
        mean = data.mean(axis=0)  # (D,)
        centered = data - mean
        components = _principal_axes(centered)  # (2, D), largest variance first
        # Eigenvectors have no sign; fix one (largest |loading| positive, sklearn's convention)
        # so refitting the same latents draws the same map, not a mirror image.
        top = np.abs(components).argmax(axis=1)
        components *= np.sign(components[np.arange(2), top])[:, None]
        self.mean_ = mean
        self.components_ = components
        self.embedding_ = self._project(data)
        return self

    def transform(self, Z_new: npt.ArrayLike) -> FloatArray:
        """Project (M, D) latents onto the fitted plane: (M, 2) float32."""
        data = as_latents(Z_new, "Z_new", dim=self.components_.shape[1])
        return self._project(data)

    def _project(self, data: npt.NDArray[np.float64]) -> FloatArray:
        return ((data - self.mean_) @ self.components_.T).astype(np.float32)  # (M, 2)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """`name`, `seed`, `mean` (D,), `components` (2, D) and `embedding` (N, 2)."""
        return {
            "name": np.array(self.name),
            "seed": np.array(self.seed, dtype=np.int64),
            "mean": self.mean_,
            "components": self.components_,
            "embedding": self.embedding_,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], Z_train: npt.ArrayLike) -> Self:
        """Restore from `to_arrays()`; `Z_train` only checks that the arrays fit the latents."""
        check_name(arrays, cls.name)
        out = cls(seed=int(arrays["seed"]))
        out.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        out.components_ = np.asarray(arrays["components"], dtype=np.float64)
        out.embedding_ = np.asarray(arrays["embedding"], dtype=np.float32)
        check_restored(out.embedding_, Z_train, out.components_.shape[1])
        return out


def _principal_axes(centered: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The two leading principal axes (2, D) of centred (N, D) data, orthonormal.

    The symmetric eigendecomposition of the smaller square, exactly: the D x D covariance when
    D <= N (a latent size, tiny next to the data), else the N x N Gram matrix, whose
    eigenvectors u map to the same axes as ``centered.T @ u``. A few thousand-dimensional
    embeddings would otherwise make a D x D matrix of 128 MB and a decomposition of tens of
    seconds for a handful of rows.
    """
    n, d = centered.shape
    if d <= n:
        _, vectors = np.linalg.eigh(centered.T @ centered)  # (D, D), ascending eigenvalues
        return vectors[:, ::-1][:, :2].T.copy()
    _, u = np.linalg.eigh(centered @ centered.T)  # (N, N), ascending eigenvalues
    axes = centered.T @ u[:, ::-1][:, :2]  # (D, 2), orthogonal, of length sqrt(eigenvalue)
    # QR normalises them; an axis of no variance (N = 2, or all latents on a line) comes out
    # as some unit vector orthogonal to the first, as any eigenvector of a zero eigenvalue is.
    q, _ = np.linalg.qr(axes)  # (D, 2)
    return q.T.copy()


class UMAPProjection(NeighbourPlacedProjection):
    """UMAP map of the latents, with a stable nearest-neighbour placement for new points.

    Args:
        n_neighbors: UMAP's neighbourhood size (local vs global structure), and the number of
            training latents averaged to place a new point.
        min_dist: how tightly UMAP packs points together, from 0 to 1.
        seed: UMAP's random_state; a fixed seed makes the map reproducible (and single-threaded).
        max_fit: fit UMAP on a seeded sample of at most this many latents and place the rest
            with `transform`, the stable placement new uploads get (UMAP on a million points
            does not fit on two cores in reasonable time); None fits on every latent.

    After `fit`, `fit_indices_` holds the (sorted) ids of the latents UMAP was fitted on.
    """

    name = "umap"
    label = "UMAP"
    index_params = {
        "n_neighbors": 15,  # umap-learn's default: local structure without fragmenting
        "min_dist": 0.1,  # umap-learn's default
        # A 100k fit takes minutes on 2 cores, a 1M fit far longer (docs, "Scale").
        "max_fit": 100_000,
    }

    def __init__(
        self,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        seed: int = 0,
        max_fit: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.seed = seed
        self.max_fit = max_fit

    def _fit_sample(self, data: npt.NDArray[np.float64]) -> FloatArray:
        reducer = _import_umap().UMAP(
            n_components=2,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            random_state=self.seed,
            # A seeded UMAP runs single-threaded anyway; saying so avoids umap's warning.
            n_jobs=1,
        )
        return np.asarray(reducer.fit_transform(data.astype(np.float32)), dtype=np.float32)

    def _param_arrays(self) -> dict[str, np.ndarray]:
        return {"min_dist": np.array(self.min_dist, dtype=np.float64)}

    @classmethod
    def _from_param_arrays(
        cls, arrays: Mapping[str, np.ndarray], n_neighbors: int, seed: int, max_fit: int | None
    ) -> Self:
        return cls(
            n_neighbors=n_neighbors,
            min_dist=float(arrays["min_dist"]),
            seed=seed,
            max_fit=max_fit,
        )

    def _check_own_params(self, n: int) -> None:
        md = self.min_dist
        if isinstance(md, bool) or not isinstance(md, int | float) or not 0.0 <= md <= 1.0:
            raise ConfigError(f"min_dist must be a number from 0 to 1; got {md!r}")


DEFAULT_PROJECTION = "umap"  # shown first where a model has it

PROJECTIONS: dict[str, type[Projection]] = {
    PCAProjection.name: PCAProjection,
    UMAPProjection.name: UMAPProjection,
    TSNEProjection.name: TSNEProjection,
}


def make_projection(name: str, **params: Any) -> Projection:
    """Build an unfitted projection by name (a key of PROJECTIONS) with its parameters."""
    cls = PROJECTIONS.get(name)
    if cls is None:
        raise ConfigError(f"projection must be one of {', '.join(PROJECTIONS)}; got {name!r}")
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(unknown)} for projection {name!r}; "
            f"allowed: {', '.join(allowed)}"
        )
    return cls(**params)


def projection_from_arrays(
    name: str, arrays: Mapping[str, np.ndarray], Z_train: npt.ArrayLike
) -> Projection:
    """Restore the fitted projection `name` from its `to_arrays()` output and training latents."""
    cls = PROJECTIONS.get(name)
    if cls is None:
        raise ConfigError(f"projection must be one of {', '.join(PROJECTIONS)}; got {name!r}")
    return cls.from_arrays(arrays, Z_train)


def _import_umap() -> Any:
    """Import umap-learn, only when a UMAP map is actually fitted (it pulls in numba).

    umap's package import emits an ImportWarning because TensorFlow (for ParametricUMAP, which
    we never use) is missing. Python ignores ImportWarning by default, but under pytest's
    warnings-as-errors it would fail whichever test happens to import umap first.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Tensorflow not installed", category=ImportWarning
        )
        import umap

    return umap

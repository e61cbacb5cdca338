"""2D maps of the latent space: one interface, two projections (PCA and UMAP).

Every projection is fitted on the dataset's latents, keeps their 2D positions in `embedding_`
and can place new latents on the same map with `transform`. A fitted projection turns into a
dict of plain arrays (`to_arrays`, saved with `allow_pickle=False`) and back
(`from_arrays`, or `projection_from_arrays` by name) without refitting.

UMAP's own `transform` is slow and places a point differently depending on what else is in the
batch, which would make a decoded point jump on the map. `UMAPProjection.transform` instead
places each new latent at the inverse-distance weighted mean of the map positions of its
k nearest training latents: deterministic, batch-independent, and umap is not imported at all.
"""

from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from app.index.neighbors import NeighborIndex, idw_average
from models.errors import ConfigError

if TYPE_CHECKING:
    from app.index.ann import ApproxNeighborIndex

FloatArray = npt.NDArray[np.float32]
# From this many fitted latents on, UMAP places points by approximate neighbours (FAISS IVF,
# calibrated recall): placing 900k items by exact search over a 100k sample would take tens of
# minutes on 2 cores; approximate, a minute or two.
APPROX_PLACEMENT_MIN = 50_000


class Projection(ABC):
    """A fitted map from D-dimensional latents to 2D points.

    Subclasses follow the estimator contract: `__init__` only stores parameters, `fit` validates
    them and sets `embedding_` (N, 2) float32, `transform` places new latents on the same map.
    """

    name: ClassVar[str]
    label: ClassVar[str]  # how the page names it
    embedding_: FloatArray

    @abstractmethod
    def fit(self, Z: npt.ArrayLike) -> Self:
        """Fit on (N, D) latents and set `embedding_` (N, 2) float32."""

    @abstractmethod
    def transform(self, Z_new: npt.ArrayLike) -> FloatArray:
        """Place (M, D) latents on the fitted map: (M, 2) float32."""

    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to restore this projection, as plain (non-object) arrays."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], Z_train: npt.ArrayLike) -> Self:
        """Restore a fitted projection from `to_arrays()` output and the training latents."""

    def fit_transform(self, Z: npt.ArrayLike) -> FloatArray:
        """Fit on (N, D) latents and return their (N, 2) map positions."""
        return self.fit(Z).embedding_


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
        _check_seed(self.seed)
        data = _as_latents(Z, "Z")
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
        data = _as_latents(Z_new, "Z_new", dim=self.components_.shape[1])
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
        _check_name(arrays, cls.name)
        out = cls(seed=int(arrays["seed"]))
        out.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        out.components_ = np.asarray(arrays["components"], dtype=np.float64)
        out.embedding_ = np.asarray(arrays["embedding"], dtype=np.float32)
        _check_restored(out.embedding_, Z_train, out.components_.shape[1])
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


class UMAPProjection(Projection):
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

    def fit(self, Z: npt.ArrayLike) -> Self:
        """Run UMAP on (N, D) latents; needs N > n_neighbors."""
        data = _as_latents(Z, "Z")
        n = data.shape[0]
        self._check_params(n)
        if self.max_fit is not None and n > self.max_fit:
            rng = np.random.default_rng(self.seed)
            fit_ids = np.sort(rng.choice(n, self.max_fit, replace=False))
        else:
            fit_ids = np.arange(n)
        fitted = self._fit_umap(data[fit_ids])
        self._use_fitted(data[fit_ids], fitted, fit_ids)
        embedding = np.empty((n, 2), dtype=np.float32)
        embedding[fit_ids] = fitted
        rest = np.setdiff1d(np.arange(n), fit_ids, assume_unique=True)
        if rest.size:
            embedding[rest] = self.transform(data[rest])
        self.embedding_ = embedding
        return self

    def _fit_umap(self, data: npt.NDArray[np.float64]) -> FloatArray:
        reducer = _import_umap().UMAP(
            n_components=2,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            random_state=self.seed,
            # A seeded UMAP runs single-threaded anyway; saying so avoids umap's warning.
            n_jobs=1,
        )
        embedding = np.asarray(reducer.fit_transform(data.astype(np.float32)), dtype=np.float32)
        if embedding.shape != (data.shape[0], 2) or not np.isfinite(embedding).all():
            raise ConfigError(
                "UMAP produced a non-finite map; try another n_neighbors or seed "
                "(often caused by many identical latents)"
            )
        return embedding

    def _use_fitted(
        self, latents: npt.NDArray[np.float64], positions: FloatArray, fit_ids: npt.NDArray[Any]
    ) -> None:
        """Place new points by the latents UMAP was fitted on and their map positions."""
        self.fit_indices_ = np.asarray(fit_ids, dtype=np.int64)
        self._fitted_positions = positions
        self._index: NeighborIndex | ApproxNeighborIndex
        if len(latents) >= APPROX_PLACEMENT_MIN:
            from app.index.ann import ApproxNeighborIndex

            self._index = ApproxNeighborIndex(latents, seed=self.seed)
        else:
            self._index = NeighborIndex(latents)

    def transform(self, Z_new: npt.ArrayLike) -> FloatArray:
        """Place (M, D) latents on the map: (M, 2) float32.

        Each point goes to the inverse-squared-distance weighted mean of the map positions of
        its n_neighbors nearest fitted latents (exact euclidean search; approximate, with a
        calibrated recall, from APPROX_PLACEMENT_MIN fitted latents on); a latent equal to a
        fitted latent lands exactly on that item. A row's result never depends on the other
        rows of the batch.
        """
        data = _as_latents(Z_new, "Z_new", dim=self._index.dim)
        if data.shape[0] == 0:
            return np.empty((0, 2), dtype=np.float32)
        k = min(self.n_neighbors, self._index.n_items)
        if isinstance(self._index, NeighborIndex):
            indices, distances = self._index.query_exact(data, k)  # (M, k) each
        else:
            indices, distances = self._index.query_exact_distances(data, k)
        return idw_average(self._fitted_positions, indices, distances).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """`name`, the three parameters and `embedding` (N, 2); the latents are stored elsewhere."""
        return {
            "name": np.array(self.name),
            "n_neighbors": np.array(self.n_neighbors, dtype=np.int64),
            "min_dist": np.array(self.min_dist, dtype=np.float64),
            "seed": np.array(self.seed, dtype=np.int64),
            "max_fit": np.array(-1 if self.max_fit is None else self.max_fit, dtype=np.int64),
            "fit_indices": self.fit_indices_,
            "embedding": self.embedding_,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], Z_train: npt.ArrayLike) -> Self:
        """Restore from `to_arrays()` and the (N, D) latents the map was fitted on.

        Rebuilds only the neighbour index over the fitted latents; umap is not imported.
        """
        _check_name(arrays, cls.name)
        max_fit = int(arrays["max_fit"]) if "max_fit" in arrays else -1
        out = cls(
            n_neighbors=int(arrays["n_neighbors"]),
            min_dist=float(arrays["min_dist"]),
            seed=int(arrays["seed"]),
            max_fit=None if max_fit < 0 else max_fit,
        )
        data = _as_latents(Z_train, "Z_train")
        out.embedding_ = np.asarray(arrays["embedding"], dtype=np.float32)
        _check_restored(out.embedding_, data, data.shape[1])
        n = data.shape[0]
        fit_ids = np.asarray(arrays["fit_indices"]) if "fit_indices" in arrays else np.arange(n)
        if (
            fit_ids.ndim != 1
            or not np.issubdtype(fit_ids.dtype, np.integer)
            or fit_ids.size < 2
            or fit_ids.min() < 0
            or fit_ids.max() >= n
            or np.any(np.diff(fit_ids) <= 0)
        ):
            raise ConfigError(f"stored fit_indices must be sorted distinct ids from 0 to {n - 1}")
        out._use_fitted(data[fit_ids], out.embedding_[fit_ids], fit_ids)
        return out

    def _check_params(self, n: int) -> None:
        nn = self.n_neighbors
        if isinstance(nn, bool) or not isinstance(nn, int | np.integer) or not 2 <= nn < n:
            raise ConfigError(
                f"n_neighbors must be an integer from 2 to {n - 1} (fewer than the {n} latents); "
                f"got {nn!r}"
            )
        mf = self.max_fit
        if mf is not None and (
            isinstance(mf, bool) or not isinstance(mf, int | np.integer) or mf <= nn
        ):
            raise ConfigError(
                f"max_fit must be None or an integer above n_neighbors ({nn}); got {mf!r}"
            )
        md = self.min_dist
        if isinstance(md, bool) or not isinstance(md, int | float) or not 0.0 <= md <= 1.0:
            raise ConfigError(f"min_dist must be a number from 0 to 1; got {md!r}")
        _check_seed(self.seed)


DEFAULT_PROJECTION = "umap"  # shown first where a model has it

PROJECTIONS: dict[str, type[Projection]] = {
    PCAProjection.name: PCAProjection,
    UMAPProjection.name: UMAPProjection,
}


def make_projection(name: str, **params: Any) -> Projection:
    """Build an unfitted projection by name ("pca" or "umap") with its parameters."""
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


def _as_latents(x: npt.ArrayLike, name: str, *, dim: int | None = None) -> npt.NDArray[np.float64]:
    """Validate finite (N, D) latents (D == dim when given) and return them as float64."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ConfigError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    expected = f"(N, {dim})" if dim is not None else "(N, D)"
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim) or arr.shape[1] == 0:
        raise ConfigError(f"{name} must have shape {expected}; got {arr.shape}")
    out = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ConfigError(f"{name} must be finite; it contains NaN or infinity")
    return out


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}")


def _check_name(arrays: Mapping[str, np.ndarray], expected: str) -> None:
    got = str(arrays["name"]) if "name" in arrays else None
    if got != expected:
        raise ConfigError(f"stored projection is {got!r}, not {expected!r}")


def _check_restored(embedding: FloatArray, Z_train: npt.ArrayLike, dim: int) -> None:
    """The stored map must have one 2D point per training latent, of the fitted width."""
    shape = np.shape(Z_train)
    if embedding.ndim != 2 or embedding.shape[1] != 2:
        raise ConfigError(f"stored embedding must have shape (N, 2); got {embedding.shape}")
    if len(shape) != 2 or shape[0] != embedding.shape[0] or shape[1] != dim:
        raise ConfigError(
            f"Z_train must have shape ({embedding.shape[0]}, {dim}) to match the stored "
            f"projection; got {shape}"
        )

"""What every 2D map of the latents shares: the ``Projection`` interface, its argument checks,
and the placement by latent neighbours that UMAP and t-SNE use.

Every projection is fitted on the dataset's latents, keeps their 2D positions in `embedding_`
and can place new latents on the same map with `transform`. A fitted projection turns into a
dict of plain arrays (`to_arrays`, saved with `allow_pickle=False`) and back (`from_arrays`)
without refitting. The registry of projections is app/index/projection.py's ``PROJECTIONS``.

Neither UMAP's nor t-SNE's own way of adding points suits a map that is dragged and uploaded to:
UMAP's `transform` is slow and places a point differently depending on what else is in the
batch; t-SNE has none that is cheap. A ``NeighbourPlacedProjection`` instead fits its method on
a seeded sample of at most `max_fit` latents and places every other latent (the rest of the
data, uploads, decoded points) at the inverse-distance weighted mean of the map positions of
its `n_neighbors` nearest fitted latents: deterministic, batch-independent, and the fitting
library is not imported to do it.
"""

from __future__ import annotations

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
# From this many fitted latents on, points are placed by approximate neighbours (FAISS IVF,
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
    # What an index build passes (app/index/fitting.py IndexParams), beside the seed: the
    # index's defaults, which may differ from the constructor's (a sample cap, say).
    index_params: ClassVar[Mapping[str, Any]] = {}
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


class NeighbourPlacedProjection(Projection):
    """A map fitted on a seeded sample of the latents, every other latent placed by its latent
    neighbours (see the module). Subclasses fit the sample (`_fit_sample`) and store their own
    parameters (`_param_arrays`, `_from_param_arrays`, `_check_own_params`).

    Attributes every subclass sets in `__init__`: `n_neighbors` (training latents averaged to
    place a point), `seed` and `max_fit` (None: fit on every latent).
    After `fit`, `fit_indices_` holds the (sorted) ids of the latents the map was fitted on.
    """

    n_neighbors: int
    seed: int
    max_fit: int | None

    @abstractmethod
    def _fit_sample(self, data: npt.NDArray[np.float64]) -> FloatArray:
        """The method's (n, 2) map of (n, D) sampled latents."""

    @abstractmethod
    def _param_arrays(self) -> dict[str, np.ndarray]:
        """The subclass's own parameters as 0-d arrays (not seed, max_fit, n_neighbors)."""

    @classmethod
    @abstractmethod
    def _from_param_arrays(
        cls, arrays: Mapping[str, np.ndarray], n_neighbors: int, seed: int, max_fit: int | None
    ) -> Self:
        """An unfitted instance with the stored parameters."""

    def _check_own_params(self, n: int) -> None:
        """Validate the subclass's own parameters for a fit on ``n`` latents."""

    def fit(self, Z: npt.ArrayLike) -> Self:
        """Fit on a seeded sample of (N, D) latents and place the rest; needs N > n_neighbors."""
        data = as_latents(Z, "Z")
        n = data.shape[0]
        self._check_params(n)
        if self.max_fit is not None and n > self.max_fit:
            rng = np.random.default_rng(self.seed)
            fit_ids = np.sort(rng.choice(n, self.max_fit, replace=False))
        else:
            fit_ids = np.arange(n)
        fitted = self._fit_sample(data[fit_ids])
        if fitted.shape != (len(fit_ids), 2) or not np.isfinite(fitted).all():
            raise ConfigError(
                f"{self.label} produced a non-finite map; try another n_neighbors or seed "
                "(often caused by many identical latents)"
            )
        self._use_fitted(data[fit_ids], fitted, fit_ids)
        embedding = np.empty((n, 2), dtype=np.float32)
        embedding[fit_ids] = fitted
        rest = np.setdiff1d(np.arange(n), fit_ids, assume_unique=True)
        if rest.size:
            embedding[rest] = self.transform(data[rest])
        self.embedding_ = embedding
        return self

    def _use_fitted(
        self, latents: npt.NDArray[np.float64], positions: FloatArray, fit_ids: npt.NDArray[Any]
    ) -> None:
        """Place new points by the latents the map was fitted on and their map positions."""
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
        data = as_latents(Z_new, "Z_new", dim=self._index.dim)
        if data.shape[0] == 0:
            return np.empty((0, 2), dtype=np.float32)
        k = min(self.n_neighbors, self._index.n_items)
        if isinstance(self._index, NeighborIndex):
            indices, distances = self._index.query_exact(data, k)  # (M, k) each
        else:
            indices, distances = self._index.query_exact_distances(data, k)
        return idw_average(self._fitted_positions, indices, distances).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """`name`, the parameters, `fit_indices` and `embedding` (N, 2); the latents are
        stored elsewhere."""
        return {
            "name": np.array(self.name),
            "n_neighbors": np.array(self.n_neighbors, dtype=np.int64),
            **self._param_arrays(),
            "seed": np.array(self.seed, dtype=np.int64),
            "max_fit": np.array(-1 if self.max_fit is None else self.max_fit, dtype=np.int64),
            "fit_indices": self.fit_indices_,
            "embedding": self.embedding_,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], Z_train: npt.ArrayLike) -> Self:
        """Restore from `to_arrays()` and the (N, D) latents the map was fitted on.

        Rebuilds only the neighbour index over the fitted latents; the fitting library is not
        imported.
        """
        check_name(arrays, cls.name)
        max_fit = int(arrays["max_fit"]) if "max_fit" in arrays else -1
        out = cls._from_param_arrays(
            arrays,
            n_neighbors=int(arrays["n_neighbors"]),
            seed=int(arrays["seed"]),
            max_fit=None if max_fit < 0 else max_fit,
        )
        data = as_latents(Z_train, "Z_train")
        out.embedding_ = np.asarray(arrays["embedding"], dtype=np.float32)
        check_restored(out.embedding_, data, data.shape[1])
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
        self._check_own_params(n)
        check_seed(self.seed)


def as_latents(x: npt.ArrayLike, name: str, *, dim: int | None = None) -> npt.NDArray[np.float64]:
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


def check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}")


def check_name(arrays: Mapping[str, np.ndarray], expected: str) -> None:
    got = str(arrays["name"]) if "name" in arrays else None
    if got != expected:
        raise ConfigError(f"stored projection is {got!r}, not {expected!r}")


def check_restored(embedding: FloatArray, Z_train: npt.ArrayLike, dim: int) -> None:
    """The stored map must have one 2D point per training latent, of the fitted width."""
    shape = np.shape(Z_train)
    if embedding.ndim != 2 or embedding.shape[1] != 2:
        raise ConfigError(f"stored embedding must have shape (N, 2); got {embedding.shape}")
    if len(shape) != 2 or shape[0] != embedding.shape[0] or shape[1] != dim:
        raise ConfigError(
            f"Z_train must have shape ({embedding.shape[0]}, {dim}) to match the stored "
            f"projection; got {shape}"
        )

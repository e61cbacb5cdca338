"""From any point of the 2D map back to a latent vector, fast enough for a drag stream.

Inside the convex hull of the map, a point is located in the Delaunay triangulation of the
items' 2D positions and gets the barycentric blend of its triangle's three latents, so an item's
own position gives back exactly its latent and the decoded image changes continuously while
dragging. Outside the hull it gets the inverse-distance weighted mean of the latents of its
nearest map points: bounded (a convex combination of real latents) however far the pointer goes.

Point location does not use scipy's `find_simplex`: its barycentric transforms take seconds to
build for 70,000 points and each call has fixed overhead. Instead a coarse grid gives a nearby
starting triangle and a visibility walk (step across the edge the point lies beyond) finishes;
a single point takes a few steps of plain float arithmetic. Only the triangulation (vertex ids
and neighbour ids) is stored, so loading never reruns qhull.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy.spatial import Delaunay, QhullError, cKDTree

from app.index.neighbors import as_finite_matrix, idw_average
from models.errors import ConfigError

# Barycentric coordinates down to -_INSIDE_TOL still count as inside: a point on an edge (or on
# the hull) must not flip to "outside" because of the last bit of rounding.
_INSIDE_TOL = 1e-9


class InverseMap:
    """Estimator mapping 2D map points (M, 2) to latents (M, D).

    Args:
        n_neighbors: map points blended for a query outside the triangulated hull.
        power: inverse-distance weight exponent outside the hull (weight = 1 / d**power).

    Fitted attributes:
        points_: (P, 2) float64 distinct map positions (duplicates merged, P <= N).
        latents_: (P, D) float32 latent of each distinct position (mean over its duplicates).
        simplices_: (S, 3) int64 vertex ids of the Delaunay triangles (S = 0 if the points
            are all on one line, in which case every query uses the weighting).
        neighbors_: (S, 3) int64 triangle across the edge opposite each vertex, -1 on the hull.
    """

    def __init__(self, n_neighbors: int = 8, power: float = 2.0) -> None:
        self.n_neighbors = n_neighbors
        self.power = power

    def fit(self, xy: npt.ArrayLike, Z: npt.ArrayLike) -> Self:
        """Fit on the items' map positions (N, 2) and their latents (N, D)."""
        self._check_params()
        points = as_finite_matrix(xy, "xy", width=2)
        latents = as_finite_matrix(Z, "Z")
        if latents.shape[0] != points.shape[0]:
            raise ConfigError(
                f"xy and Z must have one row per item; got {points.shape[0]} and "
                f"{latents.shape[0]} rows"
            )
        if points.shape[0] == 0:
            raise ConfigError("xy must hold at least one point; got 0 rows")
        # UMAP can put several items on exactly the same spot; qhull would drop all but one,
        # so merge them first and give the spot the mean of their latents.
        unique, inverse, counts = np.unique(points, axis=0, return_inverse=True, return_counts=True)
        order = np.argsort(inverse.ravel(), kind="stable")  # items grouped by distinct point
        starts = np.cumsum(counts) - counts
        sums = np.add.reduceat(latents[order], starts, axis=0)  # (P, D)
        self.points_ = unique
        self.latents_ = (sums / counts[:, None]).astype(np.float32)
        self.simplices_, self.neighbors_ = _triangulate(unique)
        self._prepare()
        return self

    def transform(self, xy_new: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Latents (M, D) float32 for map points (M, 2), or for one (2,) point as (1, D)."""
        query = as_finite_matrix(xy_new, "xy_new", width=2, allow_vector=True)
        if query.shape[0] == 1:
            return self._transform_one(float(query[0, 0]), float(query[0, 1]))
        out = np.empty((query.shape[0], self.latents_.shape[1]), dtype=np.float32)
        simplex, bary = self._locate(query)
        inside = simplex >= 0
        if inside.any():
            verts = self.simplices_[simplex[inside]]  # (I, 3)
            blend = np.einsum("ij,ijd->id", bary[inside], self.latents_[verts].astype(np.float64))
            out[inside] = blend
        if not inside.all():
            out[~inside] = self._weighted(query[~inside])
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as plain arrays (no qhull rerun needed to restore it)."""
        return {
            "n_neighbors": np.array(self.n_neighbors, dtype=np.int64),
            "power": np.array(self.power, dtype=np.float64),
            "points": self.points_,
            "latents": self.latents_,
            "simplices": self.simplices_,
            "neighbors": self.neighbors_,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Self:
        """Restore a fitted map from `to_arrays()` output."""
        out = cls(n_neighbors=int(arrays["n_neighbors"]), power=float(arrays["power"]))
        out._check_params()
        out.points_ = np.asarray(arrays["points"], dtype=np.float64)
        out.latents_ = np.asarray(arrays["latents"], dtype=np.float32)
        out.simplices_ = np.asarray(arrays["simplices"], dtype=np.int64).reshape(-1, 3)
        out.neighbors_ = np.asarray(arrays["neighbors"], dtype=np.int64).reshape(-1, 3)
        p, s = out.points_.shape[0], out.simplices_.shape[0]
        if (
            out.points_.ndim != 2
            or out.points_.shape[1] != 2
            or out.latents_.ndim != 2
            or out.latents_.shape[0] != p
            or out.neighbors_.shape != out.simplices_.shape
            or (out.simplices_.size and not 0 <= out.simplices_.min() <= out.simplices_.max() < p)
            or (out.neighbors_.size and not -1 <= out.neighbors_.min() <= out.neighbors_.max() < s)
        ):
            raise ConfigError("stored inverse map arrays are inconsistent with each other")
        out._prepare()
        return out

    # -- derived state ---------------------------------------------------------------------

    def _prepare(self) -> None:
        """Build what `transform` needs from the stored triangulation: cheap, no qhull."""
        self._tree = cKDTree(self.points_)
        self._transforms = _barycentric_transforms(self.points_, self.simplices_)  # (S, 6)
        n_simplices = self.simplices_.shape[0]
        lo = self.points_.min(axis=0)
        span = np.maximum(self.points_.max(axis=0) - lo, 1e-12)
        # About one grid cell per triangle, shaped like the map: the walk from a cell's
        # triangle to any point of the cell then takes a handful of steps.
        cells = max(n_simplices, 1)
        nx = int(np.clip(round(math.sqrt(cells * span[0] / span[1])), 1, cells))
        ny = int(np.clip(round(cells / nx), 1, cells))
        self._grid_origin = (float(lo[0]), float(lo[1]))
        self._grid_scale = (nx / float(span[0]), ny / float(span[1]))
        self._grid_shape = (nx, ny)
        self._max_steps = 4 * (nx + ny) + 64
        self._grid = np.zeros(nx * ny, dtype=np.int64)
        if n_simplices == 0:
            return
        # Start each cell's walk from a triangle at the vertex nearest its centre; what the
        # walk ends on (the containing triangle, or a hull triangle) becomes the cell's start.
        cx, cy = np.meshgrid(
            lo[0] + (np.arange(nx) + 0.5) / nx * span[0],
            lo[1] + (np.arange(ny) + 0.5) / ny * span[1],
        )
        centres = np.column_stack([cx.ravel(), cy.ravel()])  # (ny * nx, 2), row-major in y
        vertex_simplex = np.zeros(self.points_.shape[0], dtype=np.int64)
        vertex_simplex[self.simplices_.ravel()] = np.repeat(np.arange(n_simplices), 3)
        _, nearest = self._tree.query(centres)
        self._grid, _ = self._walk(centres, vertex_simplex[nearest], keep_last=True)

    # -- inside the hull ---------------------------------------------------------------------

    def _grid_start(self, x: float, y: float) -> int:
        nx, ny = self._grid_shape
        gx = min(max(int((x - self._grid_origin[0]) * self._grid_scale[0]), 0), nx - 1)
        gy = min(max(int((y - self._grid_origin[1]) * self._grid_scale[1]), 0), ny - 1)
        return int(self._grid[gy * nx + gx])

    def _transform_one(self, x: float, y: float) -> npt.NDArray[np.float32]:
        """One point with scalar arithmetic: numpy's per-call overhead would dominate."""
        found = self._locate_one(x, y) if self.simplices_.shape[0] else (-1, (0.0, 0.0, 0.0))
        if found is None:  # the walk did not settle (degenerate triangles): exhaustive search
            simplex_arr, bary_arr = self._locate_exhaustive(np.array([[x, y]]))
            found = (int(simplex_arr[0]), tuple(bary_arr[0].tolist()))
        simplex, bary = found
        if simplex < 0:
            return self._weighted_one(x, y).astype(np.float32)[None, :]
        corners = self.latents_[self.simplices_[simplex]].astype(np.float64)  # (3, D)
        return (np.array(bary) @ corners).astype(np.float32)[None, :]

    def _locate_one(self, x: float, y: float) -> tuple[int, tuple[float, float, float]] | None:
        """Scalar visibility walk; (simplex, barycentric), simplex -1 outside, None if stuck."""
        simplex = self._grid_start(x, y)
        for _ in range(self._max_steps):
            t00, t01, t10, t11, rx, ry = self._transforms[simplex].tolist()
            dx, dy = x - rx, y - ry
            b0 = t00 * dx + t01 * dy
            b1 = t10 * dx + t11 * dy
            b2 = 1.0 - b0 - b1
            if b0 >= -_INSIDE_TOL and b1 >= -_INSIDE_TOL and b2 >= -_INSIDE_TOL:
                return simplex, (b0, b1, b2)
            # Step across the edge facing the most negative coordinate (the same choice, in the
            # same arithmetic, as the vectorised `_walk`). NaN marks a degenerate triangle.
            coords = [b0, b1, b2]
            if math.isnan(b0):
                worst = 0
            else:
                worst = coords.index(min(coords))
            simplex = int(self.neighbors_[simplex, worst])
            if simplex < 0:  # beyond a hull edge, hence outside the convex hull
                return -1, (0.0, 0.0, 0.0)
        return None

    def _locate(
        self, query: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Containing triangle (M,) (-1 outside the hull) and barycentric coordinates (M, 3)."""
        m = query.shape[0]
        if self.simplices_.shape[0] == 0:
            return np.full(m, -1, dtype=np.int64), np.zeros((m, 3))
        nx, ny = self._grid_shape
        cell = ((query - self._grid_origin) * self._grid_scale).astype(np.int64)  # (M, 2)
        start = self._grid[np.clip(cell[:, 1], 0, ny - 1) * nx + np.clip(cell[:, 0], 0, nx - 1)]
        simplex, bary = self._walk(query, start, keep_last=False)
        stuck = simplex == -2
        if stuck.any():
            simplex[stuck], bary[stuck] = self._locate_exhaustive(query[stuck])
        return simplex, bary

    def _walk(
        self,
        query: npt.NDArray[np.float64],
        start: npt.NDArray[np.int64],
        *,
        keep_last: bool,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Vectorised visibility walk from `start` triangles.

        Returns (M,) triangles (-1 outside the hull, -2 if the walk did not settle; with
        `keep_last`, the last triangle visited instead of -1/-2) and (M, 3) barycentrics.
        """
        m = query.shape[0]
        current = start.astype(np.int64).copy()
        result = np.full(m, -2, dtype=np.int64)
        bary = np.zeros((m, 3), dtype=np.float64)
        active = np.arange(m)
        for _ in range(self._max_steps):
            if active.size == 0:
                break
            s = current[active]
            t = self._transforms[s]  # (A, 6)
            dx = query[active, 0] - t[:, 4]
            dy = query[active, 1] - t[:, 5]
            b0 = t[:, 0] * dx + t[:, 1] * dy
            b1 = t[:, 2] * dx + t[:, 3] * dy
            coords = np.column_stack([b0, b1, 1.0 - b0 - b1])  # (A, 3)
            inside = (coords >= -_INSIDE_TOL).all(axis=1)
            done = active[inside]
            result[done] = s[inside]
            bary[done] = coords[inside]
            # argmin returns the first NaN for a degenerate triangle, i.e. edge 0.
            worst = coords.argmin(axis=1)
            step = self.neighbors_[s, worst]
            outside = ~inside & (step < 0)
            result[active[outside]] = s[outside] if keep_last else -1
            moving = ~inside & ~outside
            current[active[moving]] = step[moving]
            active = active[moving]
        if keep_last:
            result[active] = current[active]
        return result, bary

    def _locate_exhaustive(
        self, query: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Test every triangle: the slow, always-correct fallback for a walk that cycles."""
        simplex = np.full(query.shape[0], -1, dtype=np.int64)
        bary = np.zeros((query.shape[0], 3), dtype=np.float64)
        t = self._transforms
        for i, (x, y) in enumerate(query):
            b0 = t[:, 0] * (x - t[:, 4]) + t[:, 1] * (y - t[:, 5])
            b1 = t[:, 2] * (x - t[:, 4]) + t[:, 3] * (y - t[:, 5])
            coords = np.column_stack([b0, b1, 1.0 - b0 - b1])  # (S, 3)
            hits = np.flatnonzero((coords >= -_INSIDE_TOL).all(axis=1))
            if hits.size:
                simplex[i], bary[i] = hits[0], coords[hits[0]]
        return simplex, bary

    # -- how far a map point is from the items' positions ---------------------------------------

    def point_distance(self, xy: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(M,) distance on the map from each of ``xy`` (M, 2) to the nearest item's position."""
        query = as_finite_matrix(xy, "xy", width=2)
        distances, _ = self._tree.query(query, k=1)
        return np.asarray(distances, dtype=np.float64).reshape(len(query))

    def own_point_distances(
        self, max_points: int | None = 10_000, seed: int = 0
    ) -> npt.NDArray[np.float64]:
        """Each distinct position's distance to its nearest other one, for at most
        ``max_points`` of them (a seeded sample; None: all), ascending; empty for a map of
        one position. What ``point_distance`` is ranked against (app/index/data_distance.py)."""
        n = self.points_.shape[0]
        if n < 2:
            return np.empty(0, dtype=np.float64)
        rows = np.arange(n)
        if max_points is not None and n > max_points:
            rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
        distances, _ = self._tree.query(self.points_[rows], k=2)
        return np.sort(np.asarray(distances, dtype=np.float64)[:, 1])

    # -- outside the hull --------------------------------------------------------------------

    def _weighted(self, query: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Inverse-distance weighted latents of the nearest map points, (M, D) float64."""
        k = min(self.n_neighbors, self.points_.shape[0])
        distances, indices = self._tree.query(query, k=k)
        shape = (query.shape[0], k)
        return idw_average(
            self.latents_, np.reshape(indices, shape), np.reshape(distances, shape), self.power
        )

    def _weighted_one(self, x: float, y: float) -> npt.NDArray[np.float64]:
        """`_weighted` for one point as a (D,) vector, without the batch machinery.

        Same weights as `idw_average`, summed by one dot product instead of neighbour by
        neighbour, so it can differ from the batch result in the last bits.
        """
        k = min(self.n_neighbors, self.points_.shape[0])
        dist, idx = self._tree.query((x, y), k=k)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)  # k == 1 returns scalars
        corners = self.latents_[idx].astype(np.float64)  # (k, D)
        if dist[0] == 0.0:
            return corners[dist == 0.0].mean(axis=0)
        weights = (dist[0] / dist) ** self.power  # (k,) in (0, 1]
        return (weights @ corners) / weights.sum()

    def _check_params(self) -> None:
        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"n_neighbors must be a positive integer; got {k!r}")
        p = self.power
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < p <= 16.0:
            raise ConfigError(f"power must be a number in (0, 16]; got {p!r}")


def _triangulate(
    points: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Delaunay triangles (S, 3) and their neighbours (S, 3); empty if the points are collinear.

    Points closer together than qhull's precision (about 1e-13 of the map's extent) can be left
    out of the triangles; float32 map coordinates are never that close unless equal, and equal
    points were merged before.
    """
    if points.shape[0] < 3:
        return np.empty((0, 3), dtype=np.int64), np.empty((0, 3), dtype=np.int64)
    try:
        tri = Delaunay(points)
    except QhullError:  # all on one line: no triangle exists, the weighting covers the plane
        return np.empty((0, 3), dtype=np.int64), np.empty((0, 3), dtype=np.int64)
    return tri.simplices.astype(np.int64), tri.neighbors.astype(np.int64)


def _barycentric_transforms(
    points: npt.NDArray[np.float64], simplices: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Per triangle (S, 6): the inverse 2x2 matrix (row-major) and the reference vertex.

    For triangle (a, b, c) and point p, [b_a, b_b] = inv([a - c, b - c]) @ (p - c) and
    b_c = 1 - b_a - b_b (scipy's `Delaunay.transform` convention, computed vectorised).
    Degenerate (zero-area) triangles get NaN, which the walk treats as "keep walking".
    """
    a = points[simplices[:, 0]]
    b = points[simplices[:, 1]]
    c = points[simplices[:, 2]]
    m00, m10 = (a - c).T  # columns of the 2x2 matrix [a - c, b - c]
    m01, m11 = (b - c).T
    det = m00 * m11 - m01 * m10
    scale = np.abs(a - c).max(axis=1) * np.abs(b - c).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_det = np.where(np.abs(det) > 1e-14 * scale, 1.0 / det, np.nan)
    out = np.empty((simplices.shape[0], 6), dtype=np.float64)
    out[:, 0] = m11 * inv_det
    out[:, 1] = -m01 * inv_det
    out[:, 2] = -m10 * inv_det
    out[:, 3] = m00 * inv_det
    out[:, 4:] = c
    return out

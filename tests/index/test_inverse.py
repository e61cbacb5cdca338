"""InverseMap: exact at the items, barycentric inside the hull, weighted outside, never NaN."""

from __future__ import annotations

import io

import numpy as np
import pytest
from scipy.spatial import Delaunay

from app.index.inverse import InverseMap
from models.errors import ConfigError


def scipy_barycentric(m: InverseMap, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: scipy's point location and transforms on the same points."""
    tri = Delaunay(m.points_)
    simplex = tri.find_simplex(q)
    inside = simplex >= 0
    t = tri.transform[simplex[inside]]  # (I, 3, 2)
    b = np.einsum("ijk,ik->ij", t[:, :2], q[inside] - t[:, 2])
    bary = np.column_stack([b, 1 - b.sum(axis=1)])
    expected = np.einsum("ij,ijd->id", bary, m.latents_[tri.simplices[simplex[inside]]])
    return inside, expected


def brute_idw(m: InverseMap, q: np.ndarray, k: int = 8) -> np.ndarray:
    """Independent reference for outside the hull: 1/d^2 weights over the k nearest points."""
    d = np.linalg.norm(m.points_[None, :, :] - q[:, None, :], axis=2)  # (M, P)
    nearest = np.argsort(d, axis=1)[:, :k]
    w = 1.0 / np.take_along_axis(d, nearest, axis=1) ** 2
    return np.einsum("mk,mkd->md", w, m.latents_[nearest].astype(np.float64)) / w.sum(1)[:, None]


@pytest.fixture
def fitted() -> tuple[np.ndarray, np.ndarray, InverseMap]:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(600, 2)).astype(np.float32)
    Z = rng.normal(size=(600, 8)).astype(np.float32)
    return xy, Z, InverseMap().fit(xy, Z)


def test_exact_at_every_item(fitted: tuple[np.ndarray, np.ndarray, InverseMap]) -> None:
    xy, Z, m = fitted
    out = m.transform(xy)
    assert out.shape == Z.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, Z, atol=1e-5)
    for i in range(0, len(xy), 37):  # the single-point path too
        np.testing.assert_allclose(m.transform(xy[i])[0], Z[i], atol=1e-5)


def test_inside_is_the_barycentric_blend(fitted: tuple[np.ndarray, np.ndarray, InverseMap]) -> None:
    _, _, m = fitted
    q = np.random.default_rng(1).uniform(-2.5, 2.5, size=(3000, 2))
    inside, expected = scipy_barycentric(m, q)
    assert 500 < inside.sum() < len(q)  # both regions are exercised
    out = m.transform(q)
    np.testing.assert_allclose(out[inside], expected, atol=1e-5)
    singles = np.vstack([m.transform(p) for p in q[:300]])
    np.testing.assert_allclose(singles, out[:300], atol=1e-6)


def test_one_triangle_by_hand() -> None:
    m = InverseMap().fit([[0, 0], [1, 0], [0, 1]], np.eye(3))
    np.testing.assert_allclose(m.transform([0.2, 0.3])[0], [0.5, 0.2, 0.3], atol=1e-7)
    np.testing.assert_allclose(m.transform([[0.5, 0.5]])[0], [0.0, 0.5, 0.5], atol=1e-7)


def test_outside_is_the_inverse_distance_blend(
    fitted: tuple[np.ndarray, np.ndarray, InverseMap],
) -> None:
    _, Z, m = fitted
    angle = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    q = np.column_stack([np.cos(angle), np.sin(angle)]) * np.array([[5.0], [1e6]]).repeat(25, 0)
    inside, _ = scipy_barycentric(m, q)
    assert not inside.any()
    out = m.transform(q)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, brute_idw(m, q), atol=1e-5)
    np.testing.assert_allclose(m.transform(q[0])[0], out[0], atol=1e-6)
    # A convex combination of real latents: bounded however far the pointer goes.
    assert (out <= Z.max(axis=0) + 1e-6).all() and (out >= Z.min(axis=0) - 1e-6).all()


def test_duplicate_points_are_merged_not_broken() -> None:
    rng = np.random.default_rng(2)
    # Coordinates on a coarse grid: many items share a spot, many points are cocircular.
    xy = rng.integers(0, 12, size=(500, 2)).astype(np.float32)
    Z = rng.normal(size=(500, 5)).astype(np.float32)
    m = InverseMap().fit(xy, Z)
    assert len(m.points_) < len(xy)
    out = m.transform(xy)
    assert np.isfinite(out).all()
    for i in range(0, 500, 50):  # each spot gives the mean latent of the items on it
        same = (xy == xy[i]).all(axis=1)
        np.testing.assert_allclose(out[i], Z[same].mean(axis=0), atol=1e-5)
    q = rng.uniform(-3, 15, size=(2000, 2))
    out = m.transform(q)
    assert np.isfinite(out).all()
    inside, expected = scipy_barycentric(m, q)
    np.testing.assert_allclose(out[inside], expected, atol=1e-5)


def test_collinear_and_tiny_inputs_fall_back_to_weighting() -> None:
    t = np.linspace(0, 1, 20)
    m = InverseMap().fit(np.column_stack([t, 2 * t]), np.column_stack([t, -t]))
    assert len(m.simplices_) == 0
    out = m.transform([[0.5, 1.0], [3.0, -1.0], [t[5], 2 * t[5]]])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], [0.5, -0.5], atol=1e-6)  # symmetric neighbours
    np.testing.assert_allclose(out[2], [t[5], -t[5]], atol=1e-6)  # exact at an item
    one = InverseMap().fit([[1.0, 1.0]], [[4.0, 2.0]])
    np.testing.assert_allclose(one.transform([[9.0, -9.0]]), [[4.0, 2.0]])


def test_round_trip_through_npz(fitted: tuple[np.ndarray, np.ndarray, InverseMap]) -> None:
    _, _, m = fitted
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **m.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        restored = InverseMap.from_arrays({k: data[k] for k in data.files})
    q = np.random.default_rng(3).uniform(-4, 4, size=(500, 2))
    np.testing.assert_array_equal(restored.transform(q), m.transform(q))
    np.testing.assert_array_equal(restored.transform(q[7]), m.transform(q[7]))


def test_validation() -> None:
    with pytest.raises(ConfigError, match="one row per item"):
        InverseMap().fit(np.zeros((5, 2)), np.zeros((4, 3)))
    with pytest.raises(ConfigError, match=r"xy must have shape \(N, 2\)"):
        InverseMap().fit(np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ConfigError, match="n_neighbors must be a positive integer"):
        InverseMap(n_neighbors=0).fit(np.zeros((5, 2)), np.zeros((5, 3)))
    m = InverseMap().fit(np.random.default_rng(0).normal(size=(10, 2)), np.zeros((10, 3)))
    with pytest.raises(ConfigError, match="finite"):
        m.transform([np.nan, 0.0])


def test_exhaustive_fallback_agrees_with_the_walk(
    fitted: tuple[np.ndarray, np.ndarray, InverseMap],
) -> None:
    _, _, m = fitted
    q = np.random.default_rng(4).uniform(-3, 3, size=(400, 2))
    walked = m.transform(q)
    m._max_steps = 0  # every walk "fails to settle", so every point takes the fallback
    np.testing.assert_allclose(m.transform(q), walked, atol=1e-6)
    np.testing.assert_allclose(m.transform(q[0]), walked[:1], atol=1e-6)


def test_point_distances_are_the_nearest_position_and_its_own_spacing(
    fitted: tuple[np.ndarray, np.ndarray, InverseMap],
) -> None:
    xy, _, m = fitted
    q = np.array([[0.0, 0.0], [5.0, -4.0], [30.0, 30.0]])
    brute = np.linalg.norm(xy[None, :, :].astype(np.float64) - q[:, None, :], axis=2).min(1)
    np.testing.assert_allclose(m.point_distance(q), brute, rtol=1e-6)
    assert m.point_distance(xy[:3]).tolist() == [0.0, 0.0, 0.0]  # on an item: none
    # each position's distance to its nearest other one, ascending
    d = np.linalg.norm(m.points_[None] - m.points_[:, None], axis=2)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(m.own_point_distances(None), np.sort(d.min(1)), rtol=1e-9)
    sample = m.own_point_distances(100, seed=1)
    assert sample.shape == (100,) and np.isin(sample, d.min(1)).all()
    assert np.all(np.diff(sample) >= 0)
    alone = InverseMap().fit(np.zeros((1, 2)), np.ones((1, 3)))
    assert alone.own_point_distances().shape == (0,)
    with pytest.raises(ConfigError):
        m.point_distance([[np.nan, 0.0]])

"""NeighborIndex returns exactly what a float64 brute-force scan returns, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from app.index import neighbors as neighbors_module
from app.index.neighbors import NeighborIndex, idw_average
from models.errors import ConfigError


def brute_force(
    Z: np.ndarray, q: np.ndarray, k: int, metric: str, exclude: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference answer: every distance in float64, sorted by (distance, index)."""
    Z64, q64 = Z.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        Z64 = Z64 / np.where((n := np.linalg.norm(Z64, axis=1)) > 0, n, 1)[:, None]
        q64 = q64 / (np.linalg.norm(q64) or 1.0)
        key = np.maximum(1.0 - (Z64 * q64).sum(axis=1), 0.0)
    else:
        key = ((Z64 - q64) ** 2).sum(axis=1)
    if exclude is not None:
        key[exclude] = np.inf
    order = np.lexsort((np.arange(len(Z)), key))[:k]
    dist = np.sqrt(key[order]) if metric == "euclidean" else key[order]
    return order, dist


@pytest.fixture
def tied_latents() -> np.ndarray:
    """Small-integer latents: float64 arithmetic on them is exact, so equal euclidean distances
    really are equal and only the index can break the tie; plus exact duplicates."""
    rng = np.random.default_rng(0)
    Z = rng.integers(-3, 4, size=(400, 6)).astype(np.float32)
    Z[10] = Z[3]
    Z[12] = 0.0
    return Z


@pytest.fixture
def directions() -> np.ndarray:
    """Continuous latents with exact cosine ties: duplicates and power-of-two multiples (whose
    unit vectors are bit-identical), and an all-zero row (distance 1 to everything)."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 6)).astype(np.float32)
    Z[10] = Z[3]
    Z[11] = 2 * Z[3]
    Z[13] = 0.25 * Z[3]
    Z[14], Z[15] = Z[7], 4 * Z[7]
    Z[12] = 0.0
    return Z


def test_euclidean_matches_brute_force_with_ties(tied_latents: np.ndarray) -> None:
    Z = tied_latents
    rng = np.random.default_rng(1)
    queries = np.vstack([rng.integers(-3, 4, size=(40, 6)).astype(np.float32), Z[[3, 12]]])
    index = NeighborIndex(Z)
    for k in (1, 7, 25):
        got_idx, got_dist = index.query(queries, k)
        assert got_idx.shape == (len(queries), k) and got_idx.dtype == np.int64
        assert got_dist.dtype == np.float32
        for row, q in enumerate(queries):
            want_idx, want_dist = brute_force(Z, q, k, "euclidean")
            np.testing.assert_array_equal(got_idx[row], want_idx)
            np.testing.assert_allclose(got_dist[row], want_dist, rtol=1e-6)
    # The ties really are there: the test would be vacuous without equal distances at place k.
    _, d = index.query_exact(queries, 7)
    assert (d[:, 6] == d[:, 5]).sum() > 5


def test_cosine_matches_brute_force_with_ties(directions: np.ndarray) -> None:
    Z = directions
    rng = np.random.default_rng(1)
    queries = np.vstack([rng.normal(size=(40, 6)), Z[[3, 11, 7, 12]]])
    index = NeighborIndex(Z, metric="cosine")
    for k in (1, 4, 25):
        got_idx, got_dist = index.query(queries, k)
        for row, q in enumerate(queries):
            want_idx, want_dist = brute_force(Z, q, k, "cosine")
            np.testing.assert_array_equal(got_idx[row], want_idx)
            np.testing.assert_allclose(got_dist[row], want_dist, rtol=1e-6, atol=1e-7)
    idx, dist = index.query(Z[[11, 12]], 4)
    np.testing.assert_array_equal(idx[0], [3, 10, 11, 13])  # one direction, index order
    assert (dist[0] == 0).all()
    np.testing.assert_array_equal(idx[1], [0, 1, 2, 3])  # the zero vector ties with all
    np.testing.assert_array_equal(dist[1], [1, 1, 1, 1])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_matches_brute_force_on_continuous_data(metric: str) -> None:
    rng = np.random.default_rng(2)
    Z = (rng.normal(size=(800, 16)) * 5 + 20).astype(np.float32)  # far from the origin
    queries = Z[:30] + rng.normal(size=(30, 16)).astype(np.float32) * 0.01
    idx, _ = NeighborIndex(Z, metric=metric).query(queries, 10)
    for row, q in enumerate(queries):
        np.testing.assert_array_equal(idx[row], brute_force(Z, q, 10, metric)[0])


def test_exclude_drops_the_item_itself(tied_latents: np.ndarray) -> None:
    Z = tied_latents
    index = NeighborIndex(Z)
    ids, dists = index.neighbors_of(3, 5)
    assert ids.shape == (5,) and 3 not in ids
    assert ids[0] == 10 and dists[0] == 0.0  # its exact duplicate is still a neighbour
    np.testing.assert_array_equal(ids, brute_force(Z, Z[3], 5, "euclidean", exclude=3)[0])
    # One id per query row.
    rows = np.array([0, 5, 9])
    got, _ = index.query(Z[rows], 4, exclude=rows)
    for r, item in enumerate(rows):
        assert item not in got[r]
        np.testing.assert_array_equal(got[r], brute_force(Z, Z[item], 4, "euclidean", item)[0])
    # k may reach N - 1 with an exclusion, N without.
    assert index.query(Z[0], len(Z) - 1, exclude=0)[0].shape == (1, len(Z) - 1)
    assert sorted(index.query(Z[0], len(Z))[0][0]) == list(range(len(Z)))


def test_batches_and_single_queries_agree_bitwise(
    tied_latents: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    Z = tied_latents + rng.normal(size=tied_latents.shape).astype(np.float32)
    queries = rng.normal(size=(25, 6))
    index = NeighborIndex(Z)
    # Force many small blocks so the chunked path is exercised too.
    monkeypatch.setattr(neighbors_module, "_BLOCK_ELEMENTS", 3 * len(Z))
    batch_idx, batch_dist = index.query_exact(queries, 9)
    for row, q in enumerate(queries):
        one_idx, one_dist = index.query_exact(q, 9)
        np.testing.assert_array_equal(one_idx[0], batch_idx[row])
        np.testing.assert_array_equal(one_dist[0], batch_dist[row])


def test_validation_names_allowed_values(tied_latents: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="metric must be one of euclidean, cosine"):
        NeighborIndex(tied_latents, metric="manhattan")
    index = NeighborIndex(tied_latents)
    n = len(tied_latents)
    for bad_k in (0, n + 1, 2.5, True):
        with pytest.raises(ConfigError, match=f"k must be an integer from 1 to {n}"):
            index.query(tied_latents[0], bad_k)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"from 1 to {n - 1}"):
        index.query(tied_latents[0], n, exclude=0)
    with pytest.raises(ConfigError, match="exclude"):
        index.query(tied_latents[:2], 3, exclude=np.array([1]))
    with pytest.raises(ConfigError, match="6 columns"):
        index.query(np.zeros(5), 3)
    with pytest.raises(ConfigError, match="finite"):
        index.query(np.full(6, np.nan), 3)


def test_idw_average_interpolates_exact_hits_and_weights_by_inverse_square() -> None:
    values = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [4.0, 4.0]])
    idx = np.array([[0, 1, 2], [1, 3, 2]])
    dist = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 5.0]])
    got = idw_average(values, idx, dist)
    w = np.array([1.0, 0.25, 0.25])
    np.testing.assert_allclose(got[0], (w @ values[[0, 1, 2]]) / w.sum())
    np.testing.assert_allclose(got[1], values[[1, 3]].mean(axis=0))  # two exact hits

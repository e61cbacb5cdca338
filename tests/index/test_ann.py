"""The approximate neighbour index: recall against exact search, exact distances for what it
finds, the same query contract as the exact index, and the switch by collection size."""

from __future__ import annotations

import numpy as np
import pytest

from app.index.ann import ApproxNeighborIndex, make_neighbor_index
from app.index.neighbors import NeighborIndex
from models.errors import ConfigError


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """A seeded gaussian mixture: 40 clusters, like latents of a trained model."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim)) * 3.0
    return (centres[rng.integers(0, 40, n)] + rng.normal(size=(n, dim))).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clustered(20_000, 16)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_recall_at_10_against_exact_search_is_at_least_095(data: np.ndarray, metric: str) -> None:
    approx = ApproxNeighborIndex(data, metric, seed=0)
    exact = NeighborIndex(data, metric)
    queries = np.random.default_rng(1).choice(len(data), 300, replace=False)
    found, _ = approx.query(data[queries], 10, exclude=queries)
    truth, _ = exact.query(data[queries], 10, exclude=queries)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    # The build measured its own recall on other sample items, and it says so honestly.
    assert approx.recall_ >= 0.97
    assert 1 <= approx.nprobe_ <= approx.n_cells_
    assert approx.n_cells_ == int(np.sqrt(len(data)))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_distances_are_the_exact_ones_and_sorted(data: np.ndarray, metric: str) -> None:
    approx = ApproxNeighborIndex(data, metric)
    exact = NeighborIndex(data, metric)
    q = np.random.default_rng(2).normal(size=(25, 16)) * 3.0
    ids, dist = approx.query(q, 8)
    assert ids.shape == dist.shape == (25, 8)
    assert ids.dtype == np.int64 and dist.dtype == np.float32
    assert np.all(np.diff(dist, axis=1) >= 0)
    # For the items it returns, the distance is what exact search reports for the same item.
    exact_ids, exact_dist = exact.query(q, len(data))
    lookup = np.empty_like(exact_dist)
    np.put_along_axis(lookup, exact_ids, exact_dist, axis=1)
    np.testing.assert_allclose(dist, np.take_along_axis(lookup, ids, axis=1), rtol=1e-6, atol=1e-6)


def test_neighbors_of_an_item_leave_the_item_out(data: np.ndarray) -> None:
    approx = ApproxNeighborIndex(data)
    ids, dist = approx.neighbors_of(123, 10)
    assert 123 not in ids and len(set(ids.tolist())) == 10
    exact_ids, exact_dist = NeighborIndex(data).neighbors_of(123, 10)
    assert len(set(ids) & set(exact_ids)) >= 9
    assert dist[0] == pytest.approx(exact_dist[0], rel=1e-6)


def test_a_query_whose_cells_hold_too_few_items_gets_a_full_answer() -> None:
    # 64 points in 16 cells: visiting one or two cells cannot give 50 neighbours, so the
    # index must fall back to visiting all of them and still return 50 distinct items.
    points = clustered(64, 4, seed=3)
    approx = ApproxNeighborIndex(points, target_recall=0.1)
    assert approx.nprobe_ < approx.n_cells_
    ids, dist = approx.query(points[:3], 50, exclude=np.array([0, 1, 2]))
    for row, own in zip(ids, [0, 1, 2], strict=True):
        assert len(set(row.tolist())) == 50 and own not in row
    exact_ids, _ = NeighborIndex(points).query(points[:3], 50, exclude=np.array([0, 1, 2]))
    assert [set(r) for r in ids] == [set(r) for r in exact_ids]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.query(np.zeros(5), 3), "q must have 16 columns"),
        (lambda a: a.query(np.zeros(16), 0), "k must be an integer from 1 to"),
        (lambda a: a.query(np.full(16, np.nan), 3), "q must be finite"),
        (lambda a: a.neighbors_of(10**9, 3), "item must be an item id from 0 to"),
        (lambda a: a.query(np.zeros((2, 16)), 3, exclude=[1]), "exclude must be one item id"),
    ],
)
def test_bad_queries_are_config_errors(data: np.ndarray, call, message: str) -> None:  # type: ignore[no-untyped-def]
    approx = ApproxNeighborIndex(data[:2000])
    with pytest.raises(ConfigError, match=message):
        call(approx)


def test_bad_parameters_are_config_errors(data: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="metric must be one of euclidean, cosine"):
        ApproxNeighborIndex(data, "manhattan")
    with pytest.raises(ConfigError, match="target_recall"):
        ApproxNeighborIndex(data, target_recall=1.5)


def test_the_switch_is_by_collection_size(data: np.ndarray) -> None:
    assert isinstance(make_neighbor_index(data, ann_min_items=None), NeighborIndex)
    assert isinstance(make_neighbor_index(data, ann_min_items=20_001), NeighborIndex)
    assert isinstance(make_neighbor_index(data, ann_min_items=20_000), ApproxNeighborIndex)

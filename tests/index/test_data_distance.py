"""The distance from the data: kNN distances equal a brute-force scan, and the percentile and
label place points of a known cloud where they are."""

from __future__ import annotations

import numpy as np
import pytest

from app.index.data_distance import DataDistance, knn_distance
from app.index.neighbors import NeighborIndex
from models.errors import ConfigError


def brute_knn(Z: np.ndarray, q: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    d = np.sqrt(((q[:, None, :] - Z[None, :, :]) ** 2).sum(-1))  # (M, N)
    if exclude is not None:
        d[np.arange(len(q)), exclude] = np.inf
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


def test_knn_distance_is_the_mean_over_the_k_nearest() -> None:
    rng = np.random.default_rng(0)
    Z, q = rng.normal(size=(200, 5)), rng.normal(size=(17, 5))
    search = NeighborIndex(Z)
    for k in (1, 5):
        np.testing.assert_allclose(knn_distance(search, q, k), brute_knn(Z, q, k, None), rtol=1e-5)
    own = knn_distance(search, Z, 3, exclude=np.arange(200))
    np.testing.assert_allclose(own, brute_knn(Z, Z, 3, np.arange(200)), rtol=1e-5)
    assert knn_distance(search, q[0], 1).shape == (1,)


def test_percentile_and_placement_on_two_blobs() -> None:
    # two tight blobs 10 apart: items sit ~0.1 from their neighbours
    rng = np.random.default_rng(1)
    Z = np.concatenate([rng.normal(0, 0.05, (150, 2)), rng.normal(0, 0.05, (150, 2)) + [10, 0]])
    search = NeighborIndex(Z)
    dd = DataDistance().fit(search, Z)
    assert dd.item_distances_.shape == (300,)
    assert np.all(np.diff(dd.item_distances_) >= 0)
    expected = np.sort(brute_knn(Z, Z, 1, np.arange(300)))
    # the search keeps float32 rows: absolute error ~1e-6 at coordinates near 10
    np.testing.assert_allclose(dd.item_distances_, expected, atol=1e-5)

    on_item = float(knn_distance(search, Z[7] + 1e-4, 1)[0])
    between = float(knn_distance(search, np.array([5.0, 0.0]), 1)[0])
    assert dd.percentile(on_item)[()] < 5.0
    assert dd.percentile(between)[()] == 100.0
    assert dd.placement(on_item) == "inside the data"
    assert dd.placement(between) == "far from any item"
    # just past the 95th percentile of the items' own distances, within the largest
    mid = float((dd.inside_distance_ + dd.item_distances_[-1]) / 2)
    assert dd.placement(mid) == "between clusters"
    np.testing.assert_allclose(dd.percentile([0.0, 1e9]), [0.0, 100.0])


def test_bad_fits_are_refused() -> None:
    Z = np.zeros((5, 2))
    with pytest.raises(ConfigError, match="percentile"):
        DataDistance(inside=100.0).fit(NeighborIndex(Z), Z)
    with pytest.raises(ConfigError, match="5 items"):
        DataDistance().fit(NeighborIndex(Z), Z[:3])
    with pytest.raises(ConfigError, match="at least 2"):
        DataDistance().fit(NeighborIndex(Z[:1]), Z[:1])


def test_a_sample_of_items_gives_their_exact_distances_and_close_percentiles() -> None:
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(3000, 4))
    search = NeighborIndex(Z)
    full = DataDistance().fit(search, Z)
    sample = DataDistance(max_items=500, seed=3).fit(search, Z)
    assert sample.item_distances_.shape == (500,)
    # each sampled item's distance is its exact one, against all 3,000 items
    assert np.isin(sample.item_distances_, full.item_distances_).all()
    assert sample.item_distances_[-1] <= full.item_distances_[-1]
    q = rng.normal(size=(200, 4))
    d = knn_distance(search, q, 1)
    # 500 draws: a percentile's standard error is at most ~2.2 points
    assert np.abs(sample.percentile(d) - full.percentile(d)).max() < 8.0
    assert DataDistance(max_items=500, seed=3).fit(search, Z).item_distances_.tolist() == (
        sample.item_distances_.tolist()
    )
    with pytest.raises(ConfigError, match="max_items"):
        DataDistance(max_items=1).fit(search, Z)


def test_fit_distances_ranks_against_distances_measured_elsewhere() -> None:
    dd = DataDistance(inside=50.0).fit_distances([4.0, 1.0, 3.0, 2.0])
    assert dd.item_distances_.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert dd.inside_distance_ == pytest.approx(2.5)
    np.testing.assert_allclose(dd.percentile([0.5, 2.0, 9.0]), [0.0, 50.0, 100.0])
    assert [dd.placement(d) for d in (2.0, 3.5, 9.0)] == [
        "inside the data",
        "between clusters",
        "far from any item",
    ]
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(ConfigError, match="finite distance"):
            DataDistance().fit_distances(bad)

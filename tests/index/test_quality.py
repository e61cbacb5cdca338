"""Quality figures: near their ideal on easy data, near chance on noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from app.index.quality import knn_accuracy, knn_r2, neighbor_preservation, trustworthiness
from models.errors import ConfigError


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    Z, y = make_blobs(800, n_features=10, centers=4, cluster_std=0.5, random_state=0)
    return Z.astype(np.float32), y


def test_knn_accuracy_is_perfect_on_separated_blobs_and_chance_on_noise(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    Z, y = blobs
    assert knn_accuracy(Z, y) >= 0.99
    shuffled = np.random.default_rng(0).permutation(y)  # 4 balanced classes: chance = 0.25
    assert abs(knn_accuracy(Z, shuffled, k=5, folds=5, seed=0) - 0.25) < 0.06
    # Seeded: the same folds, the same number.
    assert knn_accuracy(Z, shuffled, seed=3) == knn_accuracy(Z, shuffled, seed=3)


def test_knn_r2_finds_smooth_factors_and_not_noise(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    Z, _ = blobs
    smooth = np.sin(Z[:, 0] / 3) + 0.5 * Z[:, 1]
    assert knn_r2(Z, smooth) >= 0.9
    noise = np.random.default_rng(0).normal(size=len(Z))
    assert knn_r2(Z, noise) < 0.05
    two = knn_r2(Z, np.column_stack([smooth, noise]))  # (N, F): averaged over factors
    assert 0.3 < two < 0.6


def test_trustworthiness_of_identity_is_one_and_of_a_shuffle_is_low() -> None:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(700, 2))
    assert trustworthiness(xy, xy) == pytest.approx(1.0)
    assert trustworthiness(xy, xy, max_points=300, seed=1) == pytest.approx(1.0)
    assert trustworthiness(xy, rng.permutation(xy)) < 0.6


def test_neighbor_preservation_per_item() -> None:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2))
    kept = neighbor_preservation(xy, xy, k=10)
    assert kept.shape == (500,)
    np.testing.assert_array_equal(kept, np.ones(500))
    # Padding with extra dimensions of noise keeps only part of each neighbourhood.
    Z = np.column_stack([xy, rng.normal(size=(500, 3)) * 0.3])
    partial = neighbor_preservation(Z, xy, k=10)
    assert 0.2 < partial.mean() < 0.95
    shuffled = neighbor_preservation(xy, rng.permutation(xy), k=10)
    assert shuffled.mean() < 0.1  # about k / N by chance
    # Duplicated items (an item may not find itself first among equals) still count k.
    dup = np.vstack([xy, xy[:50]])
    assert neighbor_preservation(dup, dup, k=5).min() == 1.0


def test_hand_computed_preservation() -> None:
    # The map swaps items 2 and 3: they stay each other's nearest, but item 4's nearest
    # latent neighbour (3) is no longer its nearest on the map (2 is).
    Z = np.array([[0.0], [1.0], [10.0], [12.0], [20.0]])
    xy = np.array([[0.0, 0], [1.0, 0], [12.0, 0], [10.0, 0], [20.0, 0]])
    # Latent NN: 0->1, 1->0, 2->3, 3->2, 4->3. Map NN: 0->1, 1->0, 2->3, 3->2, 4->2.
    np.testing.assert_array_equal(neighbor_preservation(Z, xy, k=1), [1, 1, 1, 1, 0])


def test_validation(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    Z, y = blobs
    with pytest.raises(ConfigError, match="labels must have shape"):
        knn_accuracy(Z, y[:10])
    with pytest.raises(ConfigError, match="folds must be an integer from 2"):
        knn_accuracy(Z, y, folds=1)
    with pytest.raises(ConfigError, match="k must be an integer from 1"):
        knn_r2(Z, Z[:, 0], k=0)
    with pytest.raises(ConfigError, match="n_neighbors must be an integer from 1 to"):
        trustworthiness(Z, Z[:, :2], n_neighbors=500)
    with pytest.raises(ConfigError, match="xy must have one row per latent"):
        neighbor_preservation(Z, Z[:10, :2])

"""Alignment, uniformity and the held-out read-outs on point clouds whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from app.index.measures import (
    alignment,
    holdout_knn_accuracy,
    linear_probe_accuracy,
    uniformity,
)
from models.errors import ConfigError


def test_alignment_is_zero_for_identical_views_and_four_for_opposite_ones() -> None:
    z = np.random.default_rng(0).normal(size=(50, 8))
    assert alignment(z, 3.0 * z) == pytest.approx(0.0, abs=1e-12)  # scale does not matter
    assert alignment(z, -z) == pytest.approx(4.0)
    with pytest.raises(ConfigError, match="same shape"):
        alignment(z, z[:10])


def test_uniformity_is_zero_when_collapsed_and_lower_when_spread() -> None:
    assert uniformity(np.ones((100, 4))) == pytest.approx(0.0, abs=1e-12)
    pair = np.array([[1.0, 0.0], [-1.0, 0.0]])  # antipodal: squared distance 4
    assert uniformity(pair, t=2.0) == pytest.approx(-8.0)
    spread = np.random.default_rng(1).normal(size=(2000, 16))
    u = uniformity(spread)
    assert -3.6 < u < -3.4  # about -4 + 8 / 16 for 16 dimensions
    assert uniformity(spread[:, :2]) > u  # two dimensions cannot spread as far


def test_readouts_score_the_held_out_items() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=10, size=(3, 5))
    y = np.repeat(np.arange(3), 60)
    z = centres[y] + rng.normal(size=(180, 5))
    train, test = np.arange(180) % 5 != 0, np.arange(180) % 5 == 0
    assert holdout_knn_accuracy(z[train], y[train], z[test], y[test]) == 1.0
    assert linear_probe_accuracy(z[train], y[train], z[test], y[test]) == 1.0
    shuffled = rng.permutation(y)  # labels unrelated to the latents: about chance
    chance = holdout_knn_accuracy(z[train], shuffled[train], z[test], shuffled[test])
    assert chance < 0.6

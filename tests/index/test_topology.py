"""Persistent homology on point clouds whose homology is known."""

from __future__ import annotations

import numpy as np
import pytest

from app.index.topology import Topology, diagram_distances, landmarks
from models.errors import ConfigError


def circle(n: int = 300, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(t), np.sin(t)] + rng.normal(0, noise, (n, 2))


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    labels = np.repeat(np.arange(3), n // 3)
    return centres[labels] + rng.normal(0, 0.3, (len(labels), 3)), labels


def test_a_circle_has_one_long_loop() -> None:
    X = circle()
    topo = Topology(max_points=200).fit(X)
    lengths = [bar.length for bar in topo.bars(1)]
    assert lengths[0] > 1.2  # born near 0, filled in near the radius sqrt(3)
    assert all(length < 0.3 * lengths[0] for length in lengths[1:])
    h0 = topo.bars(0)
    assert np.isinf(h0[-1].death) and all(np.isfinite(b.death) for b in h0[:-1])
    # Mid-way along the long bar: one component and one loop.
    mid = (topo.bars(1)[0].birth + topo.bars(1)[0].death) / 2
    assert topo.betti(mid) == (1, 1)
    # The cocycle's points are landmarks on the circle.
    on_loop = topo.h1_points(0)
    assert len(on_loop) >= 2
    radii = np.linalg.norm(X[on_loop], axis=1)
    assert np.all(np.abs(radii - 1) < 0.1)


def test_three_blobs_have_two_long_h0_bars_and_split_into_their_groups() -> None:
    X, labels = blobs()
    topo = Topology(max_points=120).fit(X)
    finite = [bar.death for bar in topo.bars(0) if np.isfinite(bar.death)]
    long = [d for d in finite if d > 5]
    assert len(long) == 2
    assert max(d for d in finite if d <= 5) < 2
    assert topo.betti(3.0)[0] == 3
    # The last merge joins one whole blob with the other two; every item (landmark or not)
    # lands in the group of its blob.
    a, b = topo.h0_groups(len(finite) - 1)
    assert len(a) + len(b) == len(X) and not set(a) & set(b)
    groups = sorted([set(labels[a]), set(labels[b])], key=len)
    assert len(groups[0]) == 1 and len(groups[1]) == 2 and groups[0].isdisjoint(groups[1])


def test_landmarks_cover_the_cloud_and_are_seeded() -> None:
    X = np.random.default_rng(1).normal(size=(2000, 8))
    idx, radius = landmarks(X, 300, seed=3)
    again, _ = landmarks(X, 300, seed=3)
    assert len(set(idx.tolist())) == 300 and np.array_equal(idx, again)
    gaps = np.min(np.linalg.norm(X[:, None, :] - X[idx][None], axis=2), axis=1)
    assert gaps.max() == pytest.approx(radius)
    # Greedy landmarks cover better than the same number of random points.
    random_idx = np.random.default_rng(0).choice(len(X), 300, replace=False)
    random_gaps = np.min(np.linalg.norm(X[:, None, :] - X[random_idx][None], axis=2), axis=1)
    assert radius < random_gaps.max()


def test_diagram_distances_are_zero_for_the_same_cloud_and_grow_with_a_change() -> None:
    one = Topology(max_points=150).fit(circle(seed=0))
    same = Topology(max_points=150).fit(circle(seed=0))
    bigger = Topology(max_points=150).fit(2 * circle(seed=0))
    assert diagram_distances(one.dgms_[1], same.dgms_[1]) == {
        "bottleneck": 0.0,
        "wasserstein": 0.0,
        "bottleneck_error": 0.0,
    }
    far = diagram_distances(one.dgms_[1], bigger.dgms_[1])
    assert far["bottleneck"] > 0.5 and far["wasserstein"] >= far["bottleneck"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.betti(-1.0), "scale"),
        (lambda t: t.h0_groups(10_000), "finite H0 bar"),
        (lambda t: t.h1_points(-1), "H1 bar"),
        (lambda t: t.bars(2), "dim must be 0 or 1"),
    ],
)
def test_bad_arguments_say_what_is_allowed(call, message: str) -> None:  # type: ignore[no-untyped-def]
    topo = Topology(max_points=50).fit(circle(100))
    with pytest.raises(ConfigError, match=message):
        call(topo)


def test_bad_clouds_are_refused() -> None:
    with pytest.raises(ConfigError, match="finite"):
        Topology().fit(np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]))
    with pytest.raises(ConfigError, match="at least 3"):
        Topology().fit(np.zeros((2, 2)))


def test_distances_on_the_longest_bars_stay_within_their_stated_error() -> None:
    rng = np.random.default_rng(0)
    a = np.c_[np.zeros(120), rng.exponential(0.1, 120)]
    b = np.c_[np.zeros(120), rng.exponential(0.12, 120)]
    full = diagram_distances(a, b, max_bars=1000)
    cut = diagram_distances(a, b, max_bars=40)
    assert full["bottleneck_error"] == 0.0 and cut["bottleneck_error"] > 0
    assert abs(cut["bottleneck"] - full["bottleneck"]) <= cut["bottleneck_error"] + 1e-12

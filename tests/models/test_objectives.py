"""The objectives' building blocks: augmentations, corruptions and losses, on tensors whose
right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.errors import ConfigError
from models.objectives.augment import Augment
from models.objectives.corrupt import Corruption
from models.objectives.losses import contrastive_pairs, nt_xent, triplet_batch_all


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def digits_like(n: int = 8, side: int = 16) -> torch.Tensor:
    x = torch.rand(n, 1, side, side, generator=gen(42))
    return (x > 0.7).float()  # (N, 1, H, W) binary strokes


def test_an_augment_without_ranges_is_the_identity() -> None:
    none = Augment(rotation=0, scale=(1, 1), translate=0, noise=0, erase=0)
    x = digits_like()
    torch.testing.assert_close(none(x, gen()), x, atol=1e-5, rtol=0)


def test_augment_views_are_seeded_in_range_and_differ_per_image() -> None:
    x = digits_like().repeat(1, 1, 1, 1)
    same = x[:1].repeat(4, 1, 1, 1)  # four copies of one image
    a, b = Augment()(same, gen(1)), Augment()(same, gen(1))
    torch.testing.assert_close(a, b)  # same seed, same views
    assert a.shape == same.shape and a.min() >= 0 and a.max() <= 1
    assert (a[0] - a[1]).abs().mean() > 0.01  # every image gets its own draw
    c = Augment()(same, gen(2))
    assert (a - c).abs().mean() > 0.01


def test_translation_moves_a_dot_by_the_drawn_fraction() -> None:
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 16, 16] = 1.0
    shift = Augment(rotation=0, scale=(1, 1), translate=0.25, noise=0, erase=0)
    moved = shift(x, gen(3))[0, 0]
    row, col = divmod(int(moved.argmax()), 32)
    assert (row, col) != (16, 16)
    assert abs(row - 16) <= 8 and abs(col - 16) <= 8  # within 25 % of 32 px


def test_random_erasing_blanks_one_rectangle_of_the_chosen_area() -> None:
    x = torch.ones(64, 1, 32, 32)
    erase = Augment(rotation=0, scale=(1, 1), translate=0, noise=0, erase=1.0)
    out = erase(x, gen(5))
    blank = (out == 0).float().mean(dim=(1, 2, 3))  # share of each image blanked
    assert blank.min() > 0.02 and blank.max() < 0.2  # erase_area (0.04, 0.15), rounded to pixels


@pytest.mark.parametrize(
    "settings",
    [{"rotation": -1}, {"scale": (1.2, 1.0)}, {"translate": 0.8}, {"erase": 2.0}],
)
def test_bad_augment_settings_are_named(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="augmentation"):
        Augment(**settings)  # type: ignore[arg-type]


def test_augment_round_trips_through_its_dict() -> None:
    a = Augment(rotation=5, scale=(0.9, 1.1))
    assert Augment.from_dict(a.to_dict()) == a
    with pytest.raises(ConfigError, match="unknown augmentation settings"):
        Augment.from_dict({"spin": 3})


@pytest.mark.parametrize("text", ["gaussian", "gaussian:x", "blur:0.2", "mask:1.5", ":0.1"])
def test_bad_noise_flags_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ConfigError, match="gaussian|from 0 to 1"):
        Corruption.parse(text)


def test_corruptions_hit_the_chosen_share_of_pixels() -> None:
    x = torch.full((16, 1, 32, 32), 0.5)
    masked = Corruption.parse("mask:0.25")(x, gen())
    assert abs(float((masked == 0).float().mean()) - 0.25) < 0.02
    salted = Corruption.parse("saltpepper:0.1")(x, gen())
    hit = salted != 0.5
    assert abs(float(hit.float().mean()) - 0.1) < 0.02
    assert set(salted[hit].unique().tolist()) <= {0.0, 1.0}
    noisy = Corruption.parse("gaussian:0.1")(x, gen())
    assert abs(float((noisy - x).std()) - 0.1) < 0.01
    assert str(Corruption.parse(" Gaussian:0.30")) == "gaussian:0.3"


def test_nt_xent_matches_its_formula_on_orthogonal_views() -> None:
    b, t = 4, 0.5
    z = torch.eye(b)  # views agree exactly, and images are orthogonal to each other
    # Each view: partner at similarity 1/t, the other 2B - 2 views at 0.
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2 * b - 2))
    assert float(nt_xent(z, z, t)) == pytest.approx(expected, rel=1e-5)
    swapped = nt_xent(z, z.roll(1, 0), t)  # partners disagree: a much larger loss
    assert float(swapped) > expected + 1.0


def test_contrastive_pairs_is_zero_when_classes_sit_apart() -> None:
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert float(contrastive_pairs(z, labels, margin=1.0)) == pytest.approx(0.0, abs=1e-6)
    mixed = torch.tensor([0, 1, 0, 1])  # same points, labels across: every term is paid
    assert float(contrastive_pairs(z, mixed, margin=1.0)) > 0.5


def test_triplet_batch_all_is_zero_when_separated_and_margin_when_collapsed() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    apart = torch.tensor([[1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])
    assert float(triplet_batch_all(apart, labels, 0.2)) == pytest.approx(0.0, abs=1e-6)
    collapsed = torch.ones(6, 3, requires_grad=True)
    loss = triplet_batch_all(collapsed, labels, 0.2)
    assert float(loss.detach()) == pytest.approx(0.2, abs=1e-5)
    loss.backward()  # a loss, not a constant: the graph is there, and finite at collapse
    assert collapsed.grad is not None and torch.isfinite(collapsed.grad).all()


def test_losses_are_finite_on_random_batches() -> None:
    z = torch.randn(32, 16, generator=gen(9), requires_grad=True)
    labels = torch.from_numpy(np.random.default_rng(0).integers(0, 4, 32))
    losses = (nt_xent(z[:16], z[16:]), contrastive_pairs(z, labels), triplet_batch_all(z, labels))
    for value in losses:
        assert torch.isfinite(value.detach()) and value.ndim == 0

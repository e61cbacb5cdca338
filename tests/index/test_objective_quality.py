"""The objective measures at index build: which split they are scored on, the shapes factors,
and the model-based figures (alignment, denoising) following what the model can do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.index.model_measures import model_measures
from app.index.objective_quality import CROSS_VALIDATED, HELD_OUT, make_split, objective_quality
from models.autoencoder import ConvAutoencoder
from models.conv import ConvConfig
from models.dae import DAEConfig, DenoisingAutoencoder
from models.data.items import ItemColumns
from models.data.shapes import factor_targets, sample_factors
from models.simclr import SimCLR, SimCLRConfig


def test_a_recorded_split_is_used_and_a_bad_one_falls_back_to_cross_validation() -> None:
    split = make_split(100, [3, 50, 7], seed=0)
    assert split is not None and split.name == HELD_OUT and split.n_test == 3
    ((train, test),) = split.folds
    assert test.tolist() == [3, 7, 50] and len(train) == 97 and not set(train) & set(test)
    for bad in (None, [], [5, 100]):  # none recorded, or ids past the items (another dataset)
        split = make_split(100, bad, seed=0)
        assert split is not None and split.name == CROSS_VALIDATED and split.n_test == 100
    assert make_split(10, None, seed=0) is None  # too few items for any read-out


def test_rotation_targets_follow_each_shape_symmetry() -> None:
    metadata = {
        "shape": np.array(["square", "square", "triangle", "heart", "ellipse"]),
        "rotation": np.array([10.0, 100.0, 130.0, 370.0, 190.0]),
        "x": np.zeros(5),
        "y": np.zeros(5),
        "scale": np.zeros(5),
    }
    targets = factor_targets(metadata)
    assert targets is not None
    rotation = targets["rotation"]  # (N, 2) sin, cos
    # a square turned by 90 degrees, a triangle by 120, a heart by 360, an ellipse by 180 is
    # the same image: the same target as the unturned shape at 10 degrees
    np.testing.assert_allclose(rotation[1], rotation[0], atol=1e-12)
    np.testing.assert_allclose(rotation[2], [np.sin(np.radians(30)), np.cos(np.radians(30))])
    np.testing.assert_allclose(rotation[3], [np.sin(np.radians(10)), np.cos(np.radians(10))])
    np.testing.assert_allclose(rotation[4], [np.sin(np.radians(20)), np.cos(np.radians(20))])
    assert factor_targets({"digit": np.array(["1"])}) is None


def test_shapes_factors_read_out_from_latents_that_hold_them() -> None:
    n = 600
    factors = sample_factors(n, seed=0)
    targets = factor_targets(factors)
    assert targets is not None
    # latents that are x and y plus noise: x and y read out, scale and rotation do not
    rng = np.random.default_rng(0)
    z = np.stack([factors["x"], factors["y"], rng.normal(size=n) * 0.01], axis=1)
    items = ItemColumns(item_names=np.arange(n).astype(str), metadata=factors)
    q = objective_quality(items, z, holdout_ids=list(range(0, n, 5)), seed=0)
    assert (q["split"], q["split_n_test"]) == (HELD_OUT, 120)
    r2 = q["shape_factor_r2"]
    assert r2["x"] > 0.9 and r2["y"] > 0.9
    assert r2["scale"] < 0.2 and r2["rotation"] < 0.2
    assert 0.1 < q["shape_accuracy"] < 0.45  # four shapes, none in the latents: chance 0.25
    assert "reconstruction_psnr" not in q and "split_knn_accuracy" not in q  # no decoder/labels


def _images(n: int = 40, side: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((n, 1, side, side)) * 255).astype(np.uint8)


def test_a_dae_is_scored_on_its_own_noise_and_an_ae_on_the_common_one() -> None:
    torch.manual_seed(0)
    dae = DenoisingAutoencoder(DAEConfig(image_shape=(1, 16, 16), width=4, noise="mask:0.25"))
    ae = ConvAutoencoder(ConvConfig(image_shape=(1, 16, 16), width=4))
    images = _images()
    for model, noise in ((dae, "mask:0.25"), (ae, "gaussian:0.3")):
        measured = model_measures(model, images, seed=0)
        assert measured["denoising"]["noise"] == noise
        assert 0.0 <= measured["alignment"] <= 4.0
    # the same seed gives the same figures
    assert model_measures(ae, images, seed=0) == model_measures(ae, images, seed=0)


def test_model_figures_follow_what_the_model_can_do() -> None:
    torch.manual_seed(0)
    simclr = SimCLR(SimCLRConfig(image_shape=(1, 16, 16), width=4))
    measured = model_measures(simclr, _images(), seed=0)
    assert set(measured) == {"alignment"}  # encoder only: no denoising
    assert model_measures(simclr, None, seed=0) == {}  # no images: nothing to augment


@pytest.mark.parametrize("value", [1.0, 1e-3])
def test_collapsed_latents_have_a_zero_spread_ratio_and_uniformity(value: float) -> None:
    items = ItemColumns(item_names=np.arange(50).astype(str))
    q = objective_quality(items, np.full((50, 3), value), None, seed=0)
    assert q["latent_std_ratio"] == 0.0
    assert q["uniformity"] == pytest.approx(0.0, abs=1e-9)
    assert "split" not in q  # no labels and no factors: no read-out, no split named


def test_one_collapsed_dimension_shows_in_the_spread_ratio() -> None:
    z = np.random.default_rng(0).normal(size=(200, 4))
    z[:, 2] *= 0.005
    items = ItemColumns(item_names=np.arange(200).astype(str))
    assert objective_quality(items, z, None, seed=0)["latent_std_ratio"] < 0.01

"""The objectives as model kinds, trained once each at test size and judged on items they
never trained on (the seeded held-out 20 %), with the issue's floors.

Sizes: digits at 16 px (1,797 items, 359 held out), ConvEncoder width 16, latent 16, seed 0,
two torch threads. Measured when written (held-out kNN k=5 / uniformity t=2):
simclr 15 epochs batch 64: 0.958 / -1.70 (untrained encoder 0.955 / -0.07);
siamese 10 epochs: 0.983 / -1.92; triplet 10 epochs: 0.989 / -2.19;
jepa 30 epochs: 0.838 / -2.44, smallest latent std 0.44 of the largest; the same model
untrained (its pooled features standardised the same way) gives 0.797 / -2.79, so JEPA
beats its untrained encoder on kNN (at 15 epochs it did not: 0.783).
dae and the plain AE 60 epochs batch 64, Gaussian 0.3 on the held-out items: denoised
22.4 dB, corrupted input 12.5 dB, plain AE on the corrupted input 17.4 dB.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from app.index.measures import holdout_knn_accuracy, uniformity
from models.base import LatentModel
from models.dae import DenoisingAutoencoder
from models.data.base import ImageSet
from models.data.digits import load_digits_set
from models.errors import ConfigError
from models.jepa import JEPA, standardise_over_batch
from models.objectives.corrupt import Corruption
from models.registry import KINDS, build_model, load_checkpoint, save_checkpoint, trainable_names
from models.training import TrainConfig, TrainResult, as_float, holdout_split, train

SIZE = 16  # px
BACKBONE = {"image_shape": [1, SIZE, SIZE], "latent_dim": 16, "width": 16}
CPU = torch.device("cpu")
NOISE = "gaussian:0.3"


@dataclass
class Trained:
    model: LatentModel
    result: TrainResult
    seconds: float

    @property
    def holdout(self) -> np.ndarray:
        return np.asarray(self.result.holdout_ids)


def fit(name: str, data: ImageSet, epochs: int, batch_size: int = 128, **args: Any) -> Trained:
    """Train kind ``name`` on ``data`` from seed 0 with the file's backbone sizes."""
    torch.manual_seed(0)  # the initial weights
    model = build_model(name, BACKBONE | args)
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, seed=0, patience=epochs, progress=False
    )
    start = time.perf_counter()
    result = train(model, data.images, config, CPU, labels=data.labels)
    return Trained(model, result, time.perf_counter() - start)


def latents(model: LatentModel, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.encode(as_float(images, CPU)).numpy()  # (N, D)


def heldout_knn(z: np.ndarray, data: ImageSet, holdout: np.ndarray) -> float:
    """k=5 accuracy on the held-out items of a kNN fitted on the training items."""
    assert data.labels is not None
    train_ids = np.setdiff1d(np.arange(len(z)), holdout)
    y = data.labels
    return holdout_knn_accuracy(z[train_ids], y[train_ids], z[holdout], y[holdout])


def psnr(clean: torch.Tensor, other: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of ``other`` against ``clean`` (pixels in [0, 1])."""
    mse = float((other - clean).pow(2).mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def digits() -> ImageSet:
    torch.set_num_threads(2)
    return load_digits_set(image_size=SIZE)


@pytest.fixture(scope="module")
def simclr(digits: ImageSet) -> Trained:
    return fit("simclr", digits, epochs=15, batch_size=64)


@pytest.fixture(scope="module")
def siamese(digits: ImageSet) -> Trained:
    return fit("siamese", digits, epochs=10)


@pytest.fixture(scope="module")
def triplet(digits: ImageSet) -> Trained:
    return fit("triplet", digits, epochs=10)


@pytest.fixture(scope="module")
def jepa(digits: ImageSet) -> Trained:
    return fit("jepa", digits, epochs=30)  # its loss only starts to fall after ~15


@pytest.fixture(scope="module")
def dae(digits: ImageSet) -> Trained:
    return fit("dae", digits, epochs=60, batch_size=64, noise=NOISE)


@pytest.fixture(scope="module")
def plain_ae(digits: ImageSet) -> Trained:
    return fit("ae", digits, epochs=60, batch_size=64)


def test_every_kind_holds_out_the_same_seeded_fifth(digits: ImageSet, siamese: Trained) -> None:
    n = len(digits)
    train_ids, held = holdout_split(n, 0.2, seed=0)
    assert siamese.result.holdout_ids == held.tolist()
    assert len(held) == round(0.2 * n) and len(np.union1d(train_ids, held)) == n
    assert not np.intersect1d(train_ids, held).size
    assert held.tolist() == holdout_split(n, 0.2, seed=0)[1].tolist()  # a function of its args
    assert held.tolist() != holdout_split(n, 0.2, seed=1)[1].tolist()


def test_simclr_latent_is_spread_and_separates_unseen_digits(
    digits: ImageSet, simclr: Trained
) -> None:
    z = latents(simclr.model, digits.images)
    assert z.shape == (len(digits), 16)  # the encoder output, before the projection head
    assert not simclr.model.can_decode
    assert heldout_knn(z, digits, simclr.holdout) >= 0.94
    assert uniformity(z[simclr.holdout]) <= -1.5


@pytest.mark.parametrize("name", ["siamese", "triplet"])
def test_metric_kinds_separate_unseen_digits(
    digits: ImageSet, name: str, request: pytest.FixtureRequest
) -> None:
    trained: Trained = request.getfixturevalue(name)
    z = latents(trained.model, digits.images)
    assert heldout_knn(z, digits, trained.holdout) >= 0.97
    assert uniformity(z[trained.holdout]) <= -1.0  # not collapsed onto a few points


def test_jepa_does_not_collapse(digits: ImageSet, jepa: Trained) -> None:
    z = latents(jepa.model, digits.images)[jepa.holdout]
    std = z.std(axis=0)
    assert uniformity(z) <= -1.0
    assert std.min() >= 0.01 * std.max()  # no latent dimension left behind
    # The pooled features themselves, before standardisation, must not have collapsed either.
    assert isinstance(jepa.model, JEPA)
    with torch.inference_mode():
        pooled = jepa.model.pooled(as_float(digits.images[jepa.holdout], CPU)).numpy()
    spread = np.linalg.svd(pooled - pooled.mean(0), compute_uv=False)
    assert spread[3] >= 0.01 * spread[0]  # at least four directions still carry variance


def test_jepa_separates_unseen_digits(
    digits: ImageSet, jepa: Trained, record_property: Callable[[str, object], None]
) -> None:
    z = latents(jepa.model, digits.images)
    trained = heldout_knn(z, digits, jepa.holdout)
    # The same architecture and read-out untrained (same seed, latent statistics from one
    # pass over the training items): the figure JEPA is meant to beat.
    torch.manual_seed(0)
    untrained = build_model("jepa", BACKBONE)
    assert isinstance(untrained, JEPA)
    fit_ids = np.setdiff1d(np.arange(len(digits)), jepa.holdout)
    with torch.no_grad():
        untrained.standardise.momentum = None  # a cumulative average: exact statistics
        untrained.standardise.train()(untrained.pooled(as_float(digits.images[fit_ids], CPU)))
    baseline = heldout_knn(latents(untrained.eval(), digits.images), digits, jepa.holdout)
    record_property("jepa_heldout_knn", round(trained, 3))
    record_property("jepa_untrained_heldout_knn", round(baseline, 3))
    print(f"jepa held-out kNN {trained:.3f}, untrained same read-out {baseline:.3f}")
    assert trained >= 0.70
    # Measured 0.838 against 0.797 (15 epochs: 0.783; layer-normalised targets: 0.710).
    assert trained >= baseline + 0.02


def test_jepa_targets_lose_what_every_image_shares_at_a_position() -> None:
    torch.manual_seed(0)
    position = torch.randn(1, 16, 8) * 10.0  # the same at each position for every image
    content = torch.randn(32, 16, 8)
    out = standardise_over_batch(position + content)  # (B, T, E)
    assert torch.allclose(out.mean(0), torch.zeros(16, 8), atol=1e-5)
    assert torch.allclose(out.std(0), torch.ones(16, 8), atol=1e-3)
    assert torch.allclose(out, standardise_over_batch(content), atol=1e-4)
    assert torch.equal(standardise_over_batch(content[:1]), torch.zeros(1, 16, 8))


def test_dae_removes_the_noise_a_plain_ae_passes_through(
    digits: ImageSet, dae: Trained, plain_ae: Trained
) -> None:
    assert dae.result.holdout_ids == plain_ae.result.holdout_ids
    clean = as_float(digits.images[dae.holdout], CPU)
    noisy = Corruption.parse(NOISE)(clean, torch.Generator().manual_seed(0))
    assert isinstance(dae.model, DenoisingAutoencoder)
    with torch.inference_mode():
        denoised = dae.model.denoise(noisy)
        passed = plain_ae.model.decode(plain_ae.model.encode(noisy))
    assert psnr(clean, denoised) >= psnr(clean, noisy) + 8.0
    assert psnr(clean, denoised) >= psnr(clean, passed) + 4.0


@pytest.mark.parametrize("name", ["siamese", "triplet"])
def test_supervised_kinds_refuse_a_dataset_without_labels(digits: ImageSet, name: str) -> None:
    model = build_model(name, BACKBONE)
    with pytest.raises(ConfigError, match=rf"model kind '{name}' .* this dataset has no labels"):
        train(model, digits.images, TrainConfig(epochs=1, progress=False), CPU, labels=None)
    one_class = np.zeros(len(digits), dtype=np.int64)
    with pytest.raises(ConfigError, match="at least two"):
        train(model, digits.images, TrainConfig(epochs=1, progress=False), CPU, labels=one_class)


@pytest.mark.parametrize("name", ["dae", "simclr", "siamese", "triplet", "jepa"])
def test_each_kind_reloads_from_its_folder(digits: ImageSet, name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(name, BACKBONE).eval()
    if isinstance(model, JEPA):  # give the latent's running statistics non-default values
        model.train()
        with torch.no_grad():
            model.loss(as_float(digits.images[:64], CPU))
        model.eval()
    save_checkpoint(model, tmp_path / name, dataset={"spec": "digits", "image_size": SIZE})
    loaded, info = load_checkpoint(tmp_path / name)
    assert info.architecture == name and type(loaded) is type(model)
    x = as_float(digits.images[:8], CPU)
    with torch.inference_mode():
        assert torch.allclose(loaded.encode(x), model.encode(x))
    assert loaded.can_decode == (name == "dae")


def test_kind_arguments_are_checked_with_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match="unknown noise kind 'speckle'"):
        build_model("dae", BACKBONE | {"noise": "speckle:0.1"})
    with pytest.raises(ConfigError, match="unknown augmentation settings"):
        build_model("simclr", BACKBONE | {"augment": {"blur": 1.0}})
    with pytest.raises(ConfigError, match="temperature 0 is out of range"):
        build_model("simclr", BACKBONE | {"temperature": 0})
    with pytest.raises(ConfigError, match="margin 3.0 is out of range"):
        build_model("triplet", BACKBONE | {"margin": 3.0})
    with pytest.raises(ConfigError, match="block 5 is out of range"):
        build_model("jepa", BACKBONE | {"block": 5})


def test_every_trainable_kind_says_what_its_latent_is() -> None:
    for name in trainable_names():
        assert "latent" in KINDS[name].description, name
    assert "before the head" in KINDS["simclr"].description

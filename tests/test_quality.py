"""Quality targets on seeded full-size runs: one slower test per built-in dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.training import TrainRequest, train_model
from models.device import configure_torch, resolve_device
from models.training import TrainConfig

pytestmark = pytest.mark.slow


def test_default_digits_vae_reaches_its_targets(tmp_path: Path) -> None:
    """The model `make run` trains: kNN accuracy of latents >= 0.90, UMAP and t-SNE
    trustworthiness >= 0.95 and above PCA's."""
    configure_torch(2)
    request = TrainRequest(train=TrainConfig(progress=False))  # the defaults of `make run`
    _, index = train_model(request, tmp_path, resolve_device("cpu"))
    assert index is not None
    quality = index.quality
    assert quality["knn_accuracy"] >= 0.90
    assert quality["knn_accuracy_pixels"] >= 0.95  # the raw-pixel reference it is compared to
    trust = quality["trustworthiness"]
    assert trust["umap"] >= 0.95
    assert trust["umap"] > trust["pca"]
    assert trust["tsne"] >= 0.95 and trust["tsne"] > trust["pca"]


def test_shapes_vae_recovers_the_generating_factors(tmp_path: Path) -> None:
    """kNN on the latents predicts x and y (R^2 >= 0.95), scale (R^2 >= 0.65) and the shape
    class (accuracy >= 0.75)."""
    configure_torch(2)
    request = TrainRequest(
        dataset="shapes",
        size=SHAPES_SIZE,
        latent_dim=10,
        train=TrainConfig(epochs=SHAPES_EPOCHS, progress=False),
    )
    _, index = train_model(request, tmp_path, resolve_device("cpu"))
    assert index is not None
    r2 = index.quality["factor_r2"]
    assert r2["x"] >= 0.95 and r2["y"] >= 0.95
    assert r2["scale"] >= 0.65
    assert index.quality["knn_accuracy"] >= 0.75


SHAPES_SIZE = 10_000
SHAPES_EPOCHS = 12

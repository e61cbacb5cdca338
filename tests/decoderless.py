"""Workspace entries without a decoder, for the API and browser tests of the nearest-image
features: precomputed embeddings (with and without images) and an encoder-only model.

The embeddings are a fixed random projection of 16x16 digit pixels to 6 dimensions: a stand-in
for an outside embedding model, deterministic, and near each other where the digits look alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from app.services.embeddings import EmbeddingsImport, import_embeddings
from app.services.training import TrainRequest, train_model
from models.autoencoder import ConvAutoencoder
from models.data import load_dataset
from models.embeddings import EmbeddingsSource
from models.registry import register, unregister
from models.training import TrainConfig

EMBEDDINGS_DIM = 6
ENCODER_ONLY = "ae-encoder-only"


def digit_embeddings(n: int, *, with_images: bool, seed: int = 0) -> EmbeddingsSource:
    """``n`` digits as 6-dim vectors, named and labelled by digit, with their images or not."""
    data = load_dataset("digits", image_size=16, size=n, seed=seed)
    pixels = data.images.reshape(n, -1).astype(np.float32) / 255.0  # (N, 256)
    projection = np.random.default_rng(seed).normal(size=(pixels.shape[1], EMBEDDINGS_DIM))
    vectors = (pixels @ projection.astype(np.float32)) / 16.0  # (N, 6)
    assert data.labels is not None
    digits = np.array([data.label_names[label] for label in data.labels], dtype=np.str_)
    return EmbeddingsSource(
        vectors=vectors.astype(np.float32),
        item_names=np.array([f"digit-{d}-{i}" for i, d in enumerate(digits)], dtype=np.str_),
        labels=None,
        metadata={"digit": digits},
        images=data.images if with_images else None,
    )


def add_embeddings(workspace: Path, name: str, n: int, *, with_images: bool) -> EmbeddingsSource:
    """Import ``digit_embeddings`` as the entry ``workspace/name``; returns what was imported."""
    source = digit_embeddings(n, with_images=with_images)
    import_embeddings(EmbeddingsImport(source, label_field="digit"), workspace, name)
    return source


class EncoderOnlyAutoencoder(ConvAutoencoder):
    """The convolutional autoencoder with its decoder declared missing, as an encoder-only
    model (a user's PyTorch class, an ONNX encoder) declares it. ``decode`` fails loudly, so
    any code path that still decodes is caught."""

    name = ENCODER_ONLY

    @property
    def can_decode(self) -> bool:
        return False

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise AssertionError("an encoder-only model was asked to decode")


@contextmanager
def encoder_only_registered() -> Iterator[None]:
    """Register the encoder-only class for the time of a test module (in this process only),
    so the registry other tests list is left as it was."""
    register(EncoderOnlyAutoencoder)
    try:
        yield
    finally:
        unregister(ENCODER_ONLY)


def add_encoder_only(workspace: Path, name: str, n: int) -> None:
    """Train a tiny encoder-only model on ``n`` digits for one epoch and index it (no
    reconstruction errors: it cannot decode). Needs ``encoder_only_registered``."""
    request = TrainRequest(
        dataset="digits",
        architecture=ENCODER_ONLY,
        latent_dim=3,
        image_size=16,
        size=n,
        width=8,
        train=TrainConfig(epochs=1, seed=0, progress=False),
        name=name,
    )
    train_model(request, workspace, torch.device("cpu"))

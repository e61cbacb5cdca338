"""Fixtures for the HTTP API tests: the session's app (``client`` from tests/conftest.py), the
index it serves read straight from disk, and the model itself as an independent reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.index.store import LatentIndex, load_index
from app.workspace import INDEX_DIR
from models.base import LatentModel
from models.registry import load_checkpoint
from tests.api.helpers import serving
from tests.compare_workspace import build_compare_workspace
from tests.decoderless import add_embeddings


@pytest.fixture(scope="session")
def model_folder(workspace: Path, model_name: str) -> Path:
    return workspace / model_name


@pytest.fixture(scope="session")
def index(model_folder: Path) -> LatentIndex:
    """The index as stored on disk, read independently of the server."""
    return load_index(model_folder / INDEX_DIR)


@pytest.fixture(scope="session")
def reference_model(model_folder: Path) -> LatentModel:
    """The checkpoint loaded on its own, to check the images the server decodes."""
    model, _ = load_checkpoint(model_folder, "cpu")
    return model


@pytest.fixture(scope="session")
def decode_reference(reference_model: LatentModel):  # type: ignore[no-untyped-def]
    """(B, D) latents -> (B, H, W) uint8 images, as the server should render them."""

    @torch.inference_mode()
    def decode(latents: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(np.asarray(latents, dtype=np.float32))
        images = reference_model.decode(z).float().numpy()  # (B, 1, H, W)
        return np.rint(np.clip(images[:, 0] * 255.0, 0, 255)).astype(np.uint8)

    return decode


@pytest.fixture(scope="session")
def api(model_name: str) -> str:
    """URL prefix of the session model's endpoints."""
    return f"/api/models/{model_name}"


@pytest.fixture(scope="session")
def compare_root(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compare workspace (tests/compare_workspace.py), with its turned twin: built once
    for every compare test module."""
    return build_compare_workspace(tmp_path_factory.mktemp("compare"), workspace, twin=True)


@pytest.fixture(scope="session")
def compare_client(compare_root: Path) -> Iterator[TestClient]:
    with serving(compare_root) as c:
        yield c


@pytest.fixture(scope="session")
def shapes_client(shapes_workspace: Path) -> Iterator[TestClient]:
    """An app serving the session's shapes autoencoder (SHAPES_MODEL), for the views that must
    work on shapes as on digits; lifespan run once."""
    with serving(shapes_workspace) as client:
        yield client


@pytest.fixture(scope="session")
def shapes_index(shapes_workspace: Path) -> LatentIndex:
    """The shapes model's index as stored on disk."""
    from tests.conftest import SHAPES_MODEL

    return load_index(shapes_workspace / SHAPES_MODEL / INDEX_DIR)


@pytest.fixture(scope="session")
def embeddings_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app serving precomputed embeddings ("emb", 300 items, no images): no decoder, no
    reconstruction errors."""
    root: Path = tmp_path_factory.mktemp("embeddings")
    add_embeddings(root, "emb", 300, with_images=False)
    with serving(root) as client:
        yield client

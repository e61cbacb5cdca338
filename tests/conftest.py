"""Shared fixtures: a tiny seeded digits model, trained once per test session into a real
workspace on disk, and apps built from it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Two threads at most, like CI; set before torch spins up its pools.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def trained_workspace(root: Path, epochs: int, **request: Any) -> Path:
    """``root`` with one small model (16 px, width 8, seeded) trained and indexed for real on
    the CPU; ``request``: the TrainRequest's dataset, architecture, latent size and the rest."""
    from app.services.training import TrainRequest, train_model
    from models.device import configure_torch, resolve_device
    from models.training import TrainConfig

    configure_torch(2)
    train = TrainConfig(epochs=epochs, seed=0, progress=False)
    spec = TrainRequest(image_size=16, width=8, train=train, **request)
    train_model(spec, root, resolve_device("cpu"))
    return root


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one small digits VAE ("digits-vae-4") and its index, built for real."""
    root = tmp_path_factory.mktemp("workspace")
    return trained_workspace(root, 4, dataset="digits", architecture="vae", latent_dim=4)


@pytest.fixture(scope="session")
def shapes_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one small shapes autoencoder ("shapes-ae-4", 400 generated items with
    their factor metadata), for the parts of the page that must also work on shapes."""
    root = tmp_path_factory.mktemp("shapes-workspace")
    return trained_workspace(root, 3, dataset="shapes", architecture="ae", latent_dim=4, size=400)


SHAPES_MODEL = "shapes-ae-4"


@pytest.fixture(scope="session")
def anomaly_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one small digits autoencoder trained without digit 9
    (``train --exclude-classes 9``: "digits-ae-no9"), for the anomaly view."""
    root = tmp_path_factory.mktemp("anomaly-workspace")
    return trained_workspace(
        root, 3, dataset="digits", architecture="ae", latent_dim=4, name=ANOMALY_MODEL,
        exclude_classes=["9"],
    )  # fmt: skip


ANOMALY_MODEL = "digits-ae-no9"


@pytest.fixture(scope="session")
def model_name() -> str:
    return "digits-vae-4"


@pytest.fixture(scope="session")
def settings(workspace: Path):  # type: ignore[no-untyped-def]
    from app.config import Settings

    return Settings(
        workspace=workspace,
        device="cpu",
        threads=2,
        max_upload_bytes=2_000_000,
        max_image_pixels=4_000_000,
    )


@pytest.fixture(scope="session")
def client(settings) -> Iterator:  # type: ignore[no-untyped-def]
    """An in-process client of an app with the session's model loaded (lifespan run once)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client

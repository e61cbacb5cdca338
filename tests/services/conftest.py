"""Fixtures for the service tests: the session's digits model loaded as the server loads it
(a ``LoadedModel``, no app, no HTTP), an inference worker per test, and a way to await an
operation from a plain test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch

from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore

T = TypeVar("T")


@pytest.fixture(scope="session")
def store(workspace: Path, model_name: str) -> ModelStore:
    """The session's model loaded as the server loads it; no app, no HTTP."""
    loaded = ModelStore.load(workspace, torch.device("cpu"), (model_name,))
    assert not loaded.failed, loaded.failed
    return loaded


@pytest.fixture
def m(store: ModelStore, model_name: str) -> LoadedModel:
    return store.get(model_name)


@pytest.fixture
def worker() -> Iterator[InferenceWorker]:
    running = InferenceWorker()
    yield running
    running.close()


def run(operation: Coroutine[Any, Any, T]) -> T:
    """Await one async operation from a plain test."""
    return asyncio.run(operation)

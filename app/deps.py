"""Annotated dependency aliases: handlers declare what they need, not where it lives."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.config import Settings
from app.services.explorer import Explorer
from app.services.inference import InferenceWorker
from app.services.loaded import LoadedModel, ModelStore


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_explorer(request: Request) -> Explorer:
    explorer: Explorer = request.app.state.explorer
    return explorer


def get_ready_explorer(request: Request) -> Explorer | None:
    """The explorer once every model is loaded (and until shutdown begins); None otherwise."""
    if not getattr(request.app.state, "ready", False):
        return None
    return get_explorer(request)


def get_store(explorer: Annotated[Explorer, Depends(get_explorer)]) -> ModelStore:
    return explorer.store


def get_worker(explorer: Annotated[Explorer, Depends(get_explorer)]) -> InferenceWorker:
    return explorer.worker


def get_model(
    store: Annotated[ModelStore, Depends(get_store)],
    model: Annotated[str, Path(description="model name, as listed by GET /api/models")],
) -> LoadedModel:
    return store.get(model)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ExplorerDep = Annotated[Explorer, Depends(get_explorer)]
ReadyExplorerDep = Annotated[Explorer | None, Depends(get_ready_explorer)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
WorkerDep = Annotated[InferenceWorker, Depends(get_worker)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
# Read as text, so that any path answers 404 unknown_item rather than a validation error.
ItemIdPath = Annotated[
    str,
    Path(description="a dataset item id: 0 to the model's `n_items` - 1 (GET /api/models/{model})"),
]

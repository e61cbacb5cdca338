"""Annotated dependency aliases: handlers declare what they need, not where it lives."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.config import Settings
from app.services.explorer import Explorer
from app.services.loaded import LoadedModel


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_explorer(request: Request) -> Explorer:
    explorer: Explorer = request.app.state.explorer
    return explorer


def get_model(
    explorer: Annotated[Explorer, Depends(get_explorer)],
    model: Annotated[str, Path(description="model name, as listed by GET /api/models")],
) -> LoadedModel:
    return explorer.model(model)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ExplorerDep = Annotated[Explorer, Depends(get_explorer)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.deps import ReadyExplorerDep
from app.errors import error_responses
from app.schemas import HealthOut
from app.services.model_facts import health

router = APIRouter(prefix="/api", tags=["health"], responses=error_responses(401))


@router.get("/health", summary="Ready once every model is loaded and warmed up")
async def get_health(explorer: ReadyExplorerDep) -> HealthOut:
    return HealthOut(**asdict(health(explorer)))

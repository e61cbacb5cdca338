from __future__ import annotations

from fastapi import APIRouter, Request

from app.errors import error_responses
from app.schemas import HealthOut

router = APIRouter(prefix="/api", tags=["health"], responses=error_responses(401))


@router.get("/health", summary="Ready once every model is loaded and warmed up")
async def get_health(request: Request) -> HealthOut:
    state = request.app.state
    if not getattr(state, "ready", False):
        return HealthOut(status="starting", device="", models=[])
    store = state.explorer.store
    return HealthOut(
        status="ok", device=state.device, models=list(store.models), failed=store.failed
    )

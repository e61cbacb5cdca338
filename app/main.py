"""The application factory. Nothing heavy happens at import: models load in the lifespan."""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.formparsers import MultiPartParser

from app.config import Settings
from app.errors import install_error_handlers
from app.middleware import BodyLimitMiddleware, InflightLimitMiddleware, TokenMiddleware
from app.routers import ROUTERS

if TYPE_CHECKING:
    from app.services.loaded import ModelStore

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT / "templates"


@asynccontextmanager
async def _serve(
    app: FastAPI, settings: Settings, loaded: ModelStore | None = None
) -> AsyncIterator[None]:
    """Load every model (on the inference thread), serve, then stop the worker. With
    ``loaded`` (models already in memory) the process's own settings are left alone."""
    from app.services.explorer import Explorer
    from app.services.inference import InferenceWorker
    from app.services.loaded import ModelStore
    from models.device import configure_torch, resolve_device

    start = time.perf_counter()
    device = resolve_device(settings.device)
    worker = InferenceWorker()
    if loaded is None:
        configure_torch(settings.threads)
        # Loading runs on the inference thread: it is torch work like any other.
        store = await worker.run(
            ModelStore.load,
            settings.workspace,
            device,
            settings.models,
            settings.build_missing_index,
            settings.ann_min_items,
            settings.trust_code,
        )
    else:
        store = loaded
    explorer = Explorer(store, worker, str(device))
    await worker.run(explorer.prepare)
    app.state.explorer = explorer
    if loaded is None:
        # Start-up leaves some 250,000 objects (torch, pydantic, the index) that live as
        # long as the app. Frozen, no later collection walks them; unfrozen, each full
        # collection under load took 80-250 ms with the GIL held, and every request (health
        # too) waited. A server inside someone else's process (``loaded``) leaves gc alone.
        gc.collect()
        gc.freeze()
    app.state.ready = True
    log.info(
        "ready in %.2fs: %d models on %s",
        time.perf_counter() - start,
        len(store.models),
        device,
    )
    try:
        yield
    finally:
        app.state.ready = False
        explorer.analysis.close()
        worker.close()


def create_app(settings: Settings | None = None, *, loaded: ModelStore | None = None) -> FastAPI:
    """Build the explorer app for ``settings`` (defaults and env vars when None).

    loaded: serve these models, already in memory (the Python API's in-process server),
            instead of the workspace's; the process-wide start-up settings (torch threads,
            ``gc.freeze``, upload spooling) are then left as the host process has them.
    """
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Latent Explorer",
        version="0.1.0",
        summary="Encode, project, decode, interpolate and do arithmetic in latent spaces.",
        lifespan=partial(_serve, settings=settings, loaded=loaded),
        # /docs and /redoc are app.routers.docs: the same pages, their assets served locally.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready = False
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Uploads stay in memory, bounded by BodyLimitMiddleware: Starlette would spool each file
    # part past 1 MB to a temporary file on disk. Its class attribute is the one knob until
    # request.form() takes a spool size (Kludex/starlette#3190); the same value for every app.
    if loaded is None:
        MultiPartParser.spool_max_size = sys.maxsize
    app.add_middleware(InflightLimitMiddleware, limit=settings.max_inflight)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    if settings.token is not None:  # added last, so outermost: nothing runs before the check
        app.add_middleware(TokenMiddleware, token=settings.token)
    return app

"""The app factory: no work at import, models in the lifespan, umap never imported warm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_building_the_app_loads_no_model_and_imports_no_umap() -> None:
    code = (
        "import sys, json; from app.main import create_app; from app.config import Settings;"
        "app = create_app(Settings(workspace='/nonexistent'));"
        "print(json.dumps([hasattr(app.state, 'explorer'),"
        " 'umap' in sys.modules, 'numba' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, False, False]


def test_a_warm_start_serves_without_importing_umap_or_numba(
    workspace: Path, model_name: str
) -> None:
    code = f"""
import sys, json
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app
settings = Settings(workspace={str(workspace)!r}, device="cpu", threads=1)
with TestClient(create_app(settings)) as client:
    health = client.get("/api/health").json()
    frame = client.post("/api/models/{model_name}/decode",
                        json={{"point": [0.5, 0.5], "projection": "umap"}}).status_code
    print(json.dumps([health["status"], frame, "umap" in sys.modules, "numba" in sys.modules]))
"""
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["ok", 200, False, False]


def test_the_lifespan_derives_attribute_vectors_before_serving(client, model_name: str) -> None:  # type: ignore[no-untyped-def]
    # Derived lazily, the first GET /attributes would compute them on the event loop (seconds
    # at a million items) while every other request waited.
    explorer = client.app.state.explorer
    derived = explorer.store.get(model_name).derived_attributes
    assert derived is not None and len(derived) > 10
    listed = client.get(f"/api/models/{model_name}/attributes").json()["attributes"]
    assert [a["id"] for a in listed][: len(derived)] == [a.id for a in derived]

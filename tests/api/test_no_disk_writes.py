"""No endpoint writes to the workspace, and uploads never touch the disk (Starlette would spool
file parts over 1 MB to a temporary file; app/main.py keeps them in memory, where
BodyLimitMiddleware bounds them)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.formparsers import MultiPartParser

from app.routers import encode as encode_router
from tests.api.helpers import encode_file

MODEL = "digits-vae-4"
API = f"/api/models/{MODEL}"


def open_under(folder: Path) -> list[str]:
    """What this process's open file descriptors point to inside ``folder``: temporary files
    too, which Linux creates unnamed (O_TMPFILE) or unlinks at once, so that no listing of
    the folder ever shows them (``/path/#1234 (deleted)``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if target.startswith(f"{folder}/"):
            found.append(target)
    return found


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that every tempfile function of this process now uses."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def watched_upload(
    client: TestClient, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], list[tuple[list[str], list[str]]]]:
    """POST a 1.7 MB photo-like PNG; return what the temp folder held (listing, open files)
    while the upload was being encoded, that is while its parts were parsed and open."""
    noise = np.random.default_rng(1).integers(0, 256, (1300, 1300), dtype=np.uint8)
    data = encode_file(noise, compress_level=1)
    assert 1_500_000 < len(data) < 2_000_000  # over Starlette's 1 MB, under our 2 MB limit
    original = encode_router.encode_uploads
    seen: list[tuple[list[str], list[str]]] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((sorted(os.listdir(temp_dir)), open_under(temp_dir)))
        return await original(*args, **kwargs)

    monkeypatch.setattr(encode_router, "encode_uploads", spy)

    def upload() -> list[tuple[list[str], list[str]]]:
        response = client.post(f"{API}/encode", files={"file": ("photo.png", data)})
        assert response.status_code == 200, response.text[:300]
        assert len(response.json()["items"]) == 1
        return seen

    return upload


def test_a_big_upload_stays_in_memory(
    watched_upload: Callable[[], list[tuple[list[str], list[str]]]], temp_dir: Path
) -> None:
    assert watched_upload() == [([], [])]  # during
    assert os.listdir(temp_dir) == [] and open_under(temp_dir) == []  # after


def test_with_starlettes_default_it_would_have_been_on_disk(
    watched_upload: Callable[[], list[tuple[list[str], list[str]]]],
    temp_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: with Starlette's own spool size the same upload is written
    to an unnamed temporary file that no listing shows, and the open descriptor gives it away."""
    monkeypatch.setattr(MultiPartParser, "spool_max_size", 1024 * 1024)
    ((listing, files),) = watched_upload()
    assert listing == []
    assert len(files) == 1 and files[0].endswith(" (deleted)"), files


# -- the workspace --------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every file and folder under ``root``: size, modification time and SHA-256 of files,
    modification time of folders (which a file created and deleted again would change)."""
    state: dict[str, tuple[Any, ...]] = {}
    for path in sorted([root, *root.rglob("*")]):
        info = path.stat()
        name = str(path.relative_to(root))
        if path.is_dir():
            state[name + "/"] = (info.st_mtime_ns,)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[name] = (info.st_size, info.st_mtime_ns, digest)
    return state


def exercise_every_endpoint(client: TestClient) -> set[str]:
    """Call every documented operation (with good and bad input), the page and its files, the
    docs and the WebSocket; return the operations called, as ``METHOD /path/{template}``."""
    called: set[str] = set()

    def call(method: str, template: str, url: str, status: int, **kwargs: Any) -> Any:
        response = client.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text[:300])
        if template:
            called.add(f"{method} {template}")
        return response

    m = "/api/models/{model}"
    image = encode_file(np.asarray(Image.new("L", (28, 28), 90)))
    call("GET", "/api/health", "/api/health", 200)
    call("GET", "/api/models", "/api/models", 200)
    call("GET", m, API, 200)
    call("GET", "", "/api/models/no-such-model", 404)
    for query in ["", "?projection=pca", "?format=binary", "?projection=isomap"]:
        call("GET", f"{m}/points", f"{API}/points{query}", 422 if "isomap" in query else 200)
    call("GET", f"{m}/names", f"{API}/names", 200)
    call("GET", f"{m}/latents", f"{API}/latents", 200)
    call("GET", f"{m}/items/{{item_id}}", f"{API}/items/5", 200)
    for kind in ["image", "thumbnail"]:
        call("GET", f"{m}/items/{{item_id}}/{kind}", f"{API}/items/5/{kind}", 200)
        call("GET", "", f"{API}/items/..%2F..%2Fconfig.json/{kind}", 404)
    call("GET", f"{m}/thumbnails", f"{API}/thumbnails?ids=5,0,5", 200)
    call("GET", "", f"{API}/thumbnails?ids=5,99999", 404)
    call("GET", f"{m}/attributes", f"{API}/attributes", 200)
    created = call(
        "POST",
        f"{m}/attributes",
        f"{API}/attributes",
        201,
        json={"name": "zeros vs ones", "group_a": [0, 10], "group_b": [1, 11]},
    ).json()["id"]
    call("POST", f"{m}/encode", f"{API}/encode", 200, files={"file": ("a.png", image)})
    call("POST", "", f"{API}/encode", 415, files={"file": ("a.png", b"not an image")})
    call("POST", "", f"{API}/encode", 413, files={"file": ("a.png", b"\0" * 2_100_000)})
    for body in [{"id": 3}, {"latent": [0.0] * 4}, {"point": [0.0, 0.0], "projection": "pca"}]:
        call("POST", f"{m}/decode", f"{API}/decode", 200, json=body)
    call("POST", "", f"{API}/decode", 422, json={"latent": [1.0]})
    interpolation = {"start": {"id": 0}, "end": {"id": 1}, "steps": 4}
    call("POST", f"{m}/interpolate", f"{API}/interpolate", 200, json=interpolation)
    terms = {"start": {"id": 2}, "terms": [{"attribute": created, "weight": 0.5}]}
    call("POST", f"{m}/arithmetic", f"{API}/arithmetic", 200, json=terms)
    analogy = {"analogy": {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}}
    call("POST", f"{m}/arithmetic", f"{API}/arithmetic", 200, json=analogy)
    call("POST", f"{m}/neighbors", f"{API}/neighbors", 200, json={"id": 4, "k": 5})
    call("POST", f"{m}/traverse", f"{API}/traverse", 200, json={"start": {"id": 0}, "steps": 3})
    traverse = {"start": {"id": 0}, "attributes": [created]}
    call("POST", f"{m}/traverse", f"{API}/traverse", 200, json=traverse)
    call("GET", f"{m}/outliers", f"{API}/outliers?n=5", 200)
    call("GET", f"{m}/search", f"{API}/search?q=digit%3D3&bitmap=true", 200)
    selection = {"ids": [0, 1, 2, 30]}
    call("POST", f"{m}/selection/stats", f"{API}/selection/stats", 200, json=selection)
    call("GET", f"{m}/anomaly", f"{API}/anomaly", 409)  # trained on every class
    call("GET", f"{m}/topology", f"{API}/topology", 200)
    call("GET", f"{m}/topology/h0/{{bar}}", f"{API}/topology/h0/0", 200)
    call("GET", f"{m}/topology/h1/{{bar}}", f"{API}/topology/h1/0", 200)
    call("GET", "/api/compare/topology", f"/api/compare/topology?a={MODEL}&b={MODEL}", 200)
    call("GET", "/api/compare", f"/api/compare?a={MODEL}&b={MODEL}", 200)  # itself: aligned
    # the denoising demo needs a dae, which this workspace has not: refused, nothing written
    call("POST", "/api/denoise", "/api/denoise", 409, data={"item": "3", "model": MODEL})
    call("GET", "", f"/api/compare?a={MODEL}&b=no-such-model", 404)
    call("GET", "/api/compare/table", f"/api/compare/table?models={MODEL},{MODEL}", 200)
    pair = f"reference={MODEL}&model={MODEL}"
    call("GET", "/api/compare/align", f"/api/compare/align?{pair}&projection=pca", 200)
    call("GET", "/api/compare/change", f"/api/compare/change?{pair}", 200)
    call("GET", f"{m}/comparable", f"{API}/comparable", 200)
    call("GET", "", f"/compare?a={MODEL}&b={MODEL}", 200)
    for page in ["/", "/static/js/main.js", "/vendor/plotly.min.js", "/docs", "/openapi.json"]:
        call("GET", "", page, 200)
    with client.websocket_connect(f"{API}/drag?projection=umap") as socket:
        for seq in range(3):
            socket.send_json({"x": 0.1 * seq, "y": 0.0, "seq": seq})
            assert socket.receive_json()["seq"] == seq
    return called


def test_no_endpoint_writes_to_the_workspace(client: TestClient, workspace: Path) -> None:
    before = snapshot(workspace)
    assert any(name.endswith("model.safetensors") for name in before)  # the real workspace
    called = exercise_every_endpoint(client)
    paths = client.get("/openapi.json").json()["paths"]
    documented = {f"{method.upper()} {path}" for path, item in paths.items() for method in item}
    assert called == documented, documented ^ called  # a new endpoint must be called here too
    assert snapshot(workspace) == before

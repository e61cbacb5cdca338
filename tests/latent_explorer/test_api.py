"""The Python API: entries from live modules and from embeddings, their results as arrays and
images, storing them, and serving them without touching the caller's process settings."""

from __future__ import annotations

import gc
import json
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from starlette.formparsers import MultiPartParser

import latent_explorer as lx
from models.errors import CheckpointError
from tests.latent_explorer.tiny_nets import trained


@pytest.fixture(scope="module")
def tiny() -> tuple[lx.Entry, np.ndarray, np.ndarray]:
    ae, x, y = trained(n=300, epochs=80)
    entry = lx.from_torch(ae.encode, ae.decode, images=x, labels=y, name="tiny",
                          projections=["pca"])  # fmt: skip
    return entry, x, y


def process_state() -> dict[str, object]:
    return {
        "threads": torch.get_num_threads(),
        "spool": MultiPartParser.spool_max_size,
        "onednn": torch.backends.mkldnn.enabled,
        "root_handlers": list(__import__("logging").getLogger().handlers),
    }


def test_live_entry_gives_arrays_and_images(tiny: tuple[lx.Entry, np.ndarray, np.ndarray]) -> None:
    entry, x, _ = tiny
    assert len(entry) == 300 and entry.latents.shape == (300, 3)
    assert entry.quality["knn_accuracy"] > 0.5  # 10 classes: chance is 0.1
    ids, dist = entry.neighbors(0, k=5)
    assert ids.shape == (5,) and 0 not in ids and np.all(np.diff(dist) >= 0)
    brute = np.linalg.norm(entry.latents - entry.latents[0], axis=1)
    assert np.allclose(dist, np.sort(brute)[1:6], atol=1e-4)
    image = entry.decode(item=0)
    assert image.size == (8, 8) and image.mode == "L"
    path, images = entry.interpolate(0, 1, steps=4)
    assert path.shape == (4, 3) and len(images) == 4
    assert np.allclose(path[0], entry.latents[0]) and np.allclose(path[-1], entry.latents[1])


def test_live_entry_is_stored_and_loads_back_the_same(
    tiny: tuple[lx.Entry, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    entry = tiny[0]
    ws = lx.Workspace(tmp_path)
    entry.save(ws)
    assert ws.list() == ["tiny"]
    with pytest.raises(CheckpointError, match="trust-code"):
        ws.load("tiny")
    back = ws.load("tiny", trust_code=True)
    assert back.stored and np.abs(back.latents - entry.latents).max() < 1e-5
    ws.remove("tiny")
    assert ws.list() == []


def test_a_stored_live_entry_keeps_its_items_so_index_can_encode_them_again(
    tiny: tuple[lx.Entry, np.ndarray, np.ndarray],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dataclasses import replace

    from app.cli import main
    from app.index.build import dataset_for
    from app.index.store import load_index
    from models.checkpoint import read_info
    from models.errors import DatasetError

    entry, x, _ = tiny
    entry.save(tmp_path)
    folder = tmp_path / "tiny"
    info = read_info(folder)
    assert info.dataset["spec"] == "stored" and (folder / info.dataset["file"]).is_file()
    kept = dataset_for(info, folder)
    assert kept.images.shape == (300, 1, 8, 8) and kept.labels is not None
    saved = load_index(folder / "index")
    np.testing.assert_array_equal(kept.images, saved.images)
    np.testing.assert_array_equal(kept.labels, saved.labels)
    caplog.set_level("INFO", logger="latent_explorer")
    args = ["index", "--workspace", str(tmp_path), "--model", "tiny", "--trust-code",
            "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0  # the kept items hash as the saved index's: nothing to do
    assert "tiny: index is up to date (cached)" in caplog.text
    assert main([*args, "--force"]) == 0  # encoded anew from the kept items
    again = load_index(folder / "index")
    np.testing.assert_allclose(again.latents, entry.latents, atol=1e-5)
    # Saved before the items were kept: said, with what to do.
    old = replace(info, dataset={"spec": "python", "n_items": 300, "image_size": 8})
    with pytest.raises(DatasetError, match=r"did not keep its items.*entry.save"):
        dataset_for(old, folder)


def test_class_of_the_notebook_is_served_from_memory_only(tmp_path: Path) -> None:
    class Local(torch.nn.Module):  # defined here, not importable: cannot be stored
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :4]

    x = np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32)
    entry = lx.from_torch(Local(), images=x, name="local", projections=["pca"])
    assert entry.latents.shape == (60, 4)
    with pytest.raises(Exception, match="cannot be stored: class .*Local is defined in"):
        entry.save(tmp_path)


def test_embeddings_entry_from_arrays(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.normal(0, 1, (40, 5)), rng.normal(6, 1, (40, 5))])
    labels = np.array(["a"] * 40 + ["b"] * 40)
    entry = lx.from_embeddings(vectors, labels=labels, metadata={"size": np.arange(80)},
                               name="blobs", projections=["pca"])  # fmt: skip
    assert entry.quality["knn_accuracy"] == 1.0
    ids, _ = entry.neighbors(0, k=3)
    assert (ids < 40).all()
    entry.save(tmp_path)
    back = lx.Workspace(tmp_path).load("blobs")
    assert np.allclose(back.latents, vectors.astype(np.float32))


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Calls of gc.freeze() while the test runs. (The frozen count itself is no witness: it
    falls whenever a frozen object is freed, by anything in the process.)"""
    calls: list[int] = []
    real = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (calls.append(1), real())[1])
    return calls


def test_in_memory_server_on_a_thread_leaves_the_process_alone(
    tiny: tuple[lx.Entry, np.ndarray, np.ndarray], freezes: list[int]
) -> None:
    before = process_state()
    server = lx.serve(tiny[0])
    try:
        assert server.pid is None
        with urllib.request.urlopen(f"{server.url}/api/models", timeout=10) as r:
            models = json.load(r)
        names = [m["name"] for m in (models["models"] if isinstance(models, dict) else models)]
        assert names == ["tiny"]
        body = json.dumps({"point": [0.0, 0.0], "projection": "pca"}).encode()
        request = urllib.request.Request(
            f"{server.url}/api/models/tiny/decode", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 200
    finally:
        server.stop()
    assert process_state() == before and freezes == []


def test_workspace_is_served_from_a_subprocess(workspace: Path, model_name: str) -> None:
    before = process_state()
    server = lx.serve(lx.Workspace(workspace))
    try:
        assert server.pid is not None
        with urllib.request.urlopen(f"{server.url}/api/health", timeout=10) as r:
            assert json.load(r)["status"] == "ok"
    finally:
        server.stop()
    assert process_state() == before and "app" in sys.modules

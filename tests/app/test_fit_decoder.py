"""`latent-explorer fit-decoder`: a decoder fitted to a tiny simclr's frozen latents and to
imported embeddings with images; stored beside the model, it decodes clicks, drags and paths,
which say `image_source: "fitted_decoder"`; its held-out PSNR beats the mean image's; models
that decode on their own, have no images or do not exist are refused; a failure half-way
leaves the model folder as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.cli import main
from app.index.store import load_index
from app.services.training import TrainRequest, train_model
from app.workspace import INDEX_DIR
from models.errors import CheckpointError
from models.fitted_decoder import FITTED_DECODER_FILE
from models.registry import load_checkpoint
from models.simclr import SimCLR
from models.training import TrainConfig, holdout_split
from tests.api.helpers import png_pixels, serving
from tests.decoderless import add_embeddings

SIMCLR = "simclr-tiny"
EMB = "emb-images"
PLAIN = "emb-plain"
N_EMB = 400
N_PLAIN = 150
FIT = ["--epochs", "8", "--no-progress", "--device", "cpu", "--threads", "2"]


def fit(ws: Path, name: str, *extra: str) -> int:
    return main(["fit-decoder", "--model", name, "--workspace", str(ws), *FIT, *extra])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> SHA-256)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def section(ws: Path, name: str) -> dict[str, Any]:
    config = json.loads((ws / name / "config.json").read_text())
    return dict(config.get("fitted_decoder") or {})


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simclr (300 digits, 16 px, latent 4, one epoch) and imported embeddings with
    and without images, each fitted once (the entry without images is refused)."""
    root = tmp_path_factory.mktemp("fitdec")
    request = TrainRequest(
        dataset="digits",
        architecture="simclr",
        latent_dim=4,
        image_size=16,
        width=8,
        size=300,
        name=SIMCLR,
        train=TrainConfig(epochs=1, seed=0, progress=False),
    )
    train_model(request, root, torch.device("cpu"))
    add_embeddings(root, EMB, N_EMB, with_images=True)
    add_embeddings(root, PLAIN, N_PLAIN, with_images=False)
    assert fit(root, SIMCLR) == 0
    assert fit(root, EMB) == 0
    return root


@pytest.fixture(scope="module")
def fc(ws: Path) -> Iterator[TestClient]:
    with serving(ws) as client:
        yield client


def test_simclr_section_holds_its_recorded_holdout_and_beats_the_mean_image(ws: Path) -> None:
    s = section(ws, SIMCLR)
    assert s["file"] == FITTED_DECODER_FILE
    assert s["config"] == {"image_shape": [1, 16, 16], "latent_dim": 4, "width": 32}
    assert s["training"]["seed"] == 0 and s["training"]["epochs"] == 8
    assert 1 <= s["best_epoch"] <= s["epochs_run"] <= 8
    held = s["heldout"]
    assert held["source"] == "training.holdout_ids"
    assert held["items"] == len(holdout_split(300, 0.2, 0)[1]) == 60
    assert held["psnr"] == pytest.approx(10 * np.log10(1 / held["mse"]))
    # Measured (seeded, 2 threads): 14.7 dB against 13.6 dB for the training items' mean
    # image; a latent of 4 dimensions after one epoch of simclr keeps little of the pixels.
    assert held["psnr"] >= held["mean_image_psnr"] + 0.5
    assert held["psnr"] >= 14.0


def test_embeddings_with_images_get_a_seeded_holdout_and_errors_in_the_index(ws: Path) -> None:
    held = section(ws, EMB)["heldout"]
    assert held["source"].startswith("seeded 20%")
    assert held["items"] == round(0.2 * N_EMB)
    # Measured (seeded, 2 threads): 16.5 dB against 13.8 dB for the mean image.
    assert held["psnr"] >= held["mean_image_psnr"] + 2.0
    index = load_index(ws / EMB / INDEX_DIR)
    assert index.errors is not None and index.errors.shape == (N_EMB,)
    assert index.quality["reconstruction_mse"] == pytest.approx(float(index.errors.mean()))


def test_loaded_model_decodes_through_the_fitted_decoder(ws: Path) -> None:
    model, info = load_checkpoint(ws / SIMCLR)
    assert model.name == "simclr" and model.can_decode and model.decoder_source == "fitted"
    index = load_index(ws / SIMCLR / INDEX_DIR)
    assert index.errors is not None  # the rebuilt index has reconstruction errors
    with torch.no_grad():
        images = model.decode(torch.from_numpy(index.latents[:5]))
    assert images.shape == (5, 1, 16, 16)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    x = torch.from_numpy(np.asarray(index.images[:5], np.float32) / 255.0)
    mse = (images - x).pow(2).flatten(1).mean(1).numpy()
    assert mse == pytest.approx(index.errors[:5], abs=1e-5)


def test_api_answers_say_fitted_decoder(ws: Path, fc: TestClient) -> None:
    info = fc.get(f"/api/models/{SIMCLR}").json()
    assert info["can_decode"] is True and info["decoder_source"] == "fitted"
    assert info["fitted_decoder"]["heldout"] == section(ws, SIMCLR)["heldout"]
    vae = [m for m in fc.get("/api/models").json()["models"] if m["name"] == EMB]
    assert vae[0]["decoder_source"] == "fitted"

    placed = fc.post(f"/api/models/{SIMCLR}/decode", json={"point": [0.0, 0.0]}).json()
    assert placed["image_source"] == "fitted_decoder" and placed["nearest_id"] is None
    model, _ = load_checkpoint(ws / SIMCLR)
    with torch.no_grad():
        expected = model.decode(torch.tensor([placed["latent"]], dtype=torch.float32))[0, 0]
    got = png_pixels(placed["image"]).astype(int)
    assert np.abs(got - np.round(expected.numpy() * 255)).max() <= 1

    path = fc.post(
        f"/api/models/{SIMCLR}/interpolate", json={"start": {"id": 0}, "end": {"id": 1}}
    ).json()
    assert path["image_source"] == "fitted_decoder" and path["nearest_ids"] is None
    assert len(path["images"]) == 8 and all(image for image in path["images"])

    with fc.websocket_connect(f"/api/models/{SIMCLR}/drag") as stream:
        stream.send_text(json.dumps({"x": 0.1, "y": 0.2, "seq": 1}))
        frame = stream.receive_json()
    assert frame["image_source"] == "fitted_decoder" and frame["image"]
    assert "nearest_id" not in frame

    grid = fc.post(f"/api/models/{SIMCLR}/traverse", json={"start": {"id": 0}})
    assert grid.status_code == 200, grid.text
    emb = fc.post(f"/api/models/{EMB}/decode", json={"id": 3}).json()
    assert emb["image_source"] == "fitted_decoder" and emb["nearest_id"] is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "no model 'nope'"),
        (PLAIN, "has no images to fit a decoder to"),
    ],
)
def test_refusals_leave_the_workspace_as_it_was(
    ws: Path, name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: snapshot(p) for p in ws.iterdir()}
    assert fit(ws, name) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert {p.name: snapshot(p) for p in ws.iterdir()} == before


def test_a_model_with_its_own_decoder_is_refused(
    workspace: Path, model_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(workspace / model_name)
    assert fit(workspace, model_name) == 2
    assert "already decodes with its own decoder" in capsys.readouterr().err
    assert snapshot(workspace / model_name) == before


def test_a_failure_while_writing_leaves_the_folder_as_it_was(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(ws / SIMCLR)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the new weights were written

    monkeypatch.setattr("models.fitted_decoder.write_config", crash)
    assert fit(ws, SIMCLR, "--epochs", "1") == 130
    assert snapshot(ws / SIMCLR) == before
    assert [p.name for p in ws.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_rerunning_replaces_the_fitted_decoder(ws: Path) -> None:
    old = section(ws, SIMCLR)
    assert fit(ws, SIMCLR, "--epochs", "1", "--seed", "3") == 0
    new = section(ws, SIMCLR)
    assert new["sha256"] != old["sha256"] and new["training"]["seed"] == 3
    model, _ = load_checkpoint(ws / SIMCLR)  # the new file matches the new section
    assert model.decoder_source == "fitted"
    manifest = json.loads((ws / SIMCLR / INDEX_DIR / "manifest.json").read_text())
    assert load_index(ws / SIMCLR / INDEX_DIR).key == manifest["key"]


def test_a_changed_fitted_decoder_file_is_named_when_loading(ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / SIMCLR
    shutil.copytree(ws / SIMCLR, folder)
    weights = folder / FITTED_DECODER_FILE
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(CheckpointError, match=f"{FITTED_DECODER_FILE}: contents do not match"):
        load_checkpoint(folder)
    weights.unlink()
    with pytest.raises(CheckpointError, match=f"{FITTED_DECODER_FILE}: missing"):
        load_checkpoint(folder)


def test_the_kind_keeps_its_class_and_name(ws: Path) -> None:
    model, _ = load_checkpoint(ws / SIMCLR)
    again, _ = load_checkpoint(ws / SIMCLR)
    assert isinstance(model, SimCLR) and type(model) is type(again)
    assert model.name == "simclr" and model.can_encode

"""POST /api/denoise: the denoising demo's corrupted image, dae output and plain AE output,
each with a PSNR that a numpy computation on the returned PNGs reproduces."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.index.store import LatentIndex, load_index
from app.main import create_app
from app.workspace import INDEX_DIR
from tests.api.helpers import assert_error, encode_file, png_pixels
from tests.denoise_workspace import AE, DAE, build_denoise_workspace

ITEM = 7
VAE = "digits-vae-4"  # tests/conftest.py's session model


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_denoise_workspace(tmp_path_factory.mktemp("denoise"))


def serve(root: Path, *models: str) -> Iterator[TestClient]:
    settings = Settings(workspace=root, device="cpu", threads=2, models=models)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def dc(root: Path) -> Iterator[TestClient]:
    yield from serve(root)


@pytest.fixture(scope="module")
def dae_index(root: Path) -> LatentIndex:
    return load_index(root / DAE / INDEX_DIR)


def denoise(client: TestClient, files: Any = None, **form: Any) -> dict[str, Any]:
    response = client.post("/api/denoise", data=form, files=files)
    assert response.status_code == 200, response.text[:300]
    body: dict[str, Any] = response.json()
    return body


def psnr(image: np.ndarray, clean: np.ndarray) -> float:
    mse = np.mean((image.astype(np.float64) / 255.0 - clean.astype(np.float64) / 255.0) ** 2)
    return float(10.0 * np.log10(1.0 / max(mse, 1e-12)))


@pytest.mark.parametrize(("kind", "level"), [("gaussian", 0.3), ("saltpepper", 0.2), ("mask", 0.4)])
def test_each_psnr_is_the_one_of_the_returned_images(
    dc: TestClient, dae_index: LatentIndex, kind: str, level: float
) -> None:
    body = denoise(dc, item=ITEM, kind=kind, level=level, seed=3)
    assert (body["dae"], body["ae"], body["item"]) == (DAE, AE, ITEM)
    assert (body["kind"], body["level"], body["seed"]) == (kind, level, 3)
    clean = png_pixels(body["clean"])
    assert dae_index.images is not None
    np.testing.assert_array_equal(clean, dae_index.images[ITEM, 0])
    for key in ("corrupted", "dae_output", "ae_output"):
        image = png_pixels(body[key]["image"])
        assert body[key]["psnr"] == pytest.approx(psnr(image, clean), abs=1e-3), key
    corrupted = png_pixels(body["corrupted"]["image"])
    changed = np.mean(corrupted != clean)
    if kind == "gaussian":
        assert changed > 0.5  # nearly every pixel moves (the black ones half the time: clamped)
    else:  # a fraction `level` of pixels is hit; some already had the value they get
        assert 0.05 < changed <= level + 0.1
    assert body["corrupted"]["psnr"] < 30.0


def test_the_same_request_gives_the_same_images_and_another_seed_other_noise(
    dc: TestClient,
) -> None:
    first = denoise(dc, item=ITEM, seed=11)
    again = denoise(dc, item=ITEM, seed=11)
    other = denoise(dc, item=ITEM, seed=12)
    assert first == again
    assert other["corrupted"]["image"] != first["corrupted"]["image"]
    assert other["clean"] == first["clean"]


def test_level_zero_leaves_the_image_clean(dc: TestClient) -> None:
    body = denoise(dc, item=ITEM, kind="mask", level=0.0)
    assert body["corrupted"]["image"] == body["clean"]
    assert body["corrupted"]["psnr"] == pytest.approx(120.0)


def test_an_upload_is_corrupted_and_denoised_like_an_item(
    dc: TestClient, dae_index: LatentIndex
) -> None:
    assert dae_index.images is not None
    data = encode_file(dae_index.images[ITEM, 0])
    by_upload = denoise(dc, files={"file": ("seven.png", data, "image/png")}, seed=5)
    by_item = denoise(dc, item=ITEM, seed=5)
    assert by_upload["item"] is None
    for key in ("clean", "corrupted", "dae_output", "ae_output"):
        assert by_upload[key] == by_item[key], key


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"item": ITEM, "kind": "speckle"}, "bad_noise"),
        ({"item": ITEM, "level": 1.5}, "invalid_input"),
        ({"item": ITEM, "level": -0.1}, "invalid_input"),
        ({"item": ITEM, "level": "nan"}, "invalid_input"),
        ({}, "bad_source"),
    ],
)
def test_a_bad_noise_or_no_image_is_a_422(dc: TestClient, form: dict, code: str) -> None:
    message = assert_error(dc.post("/api/denoise", data=form), 422, code)
    if code == "bad_noise":
        assert "gaussian, saltpepper, mask" in message
    if "level" in form:
        assert "level" in message


def test_an_item_and_an_upload_at_once_is_a_422(dc: TestClient) -> None:
    files = {"file": ("x.png", encode_file(np.zeros((16, 16), np.uint8)), "image/png")}
    response = dc.post("/api/denoise", data={"item": ITEM}, files=files)
    assert_error(response, 422, "bad_source")


@pytest.mark.parametrize("item", ["400", "-1", "null", "7.0"])
def test_an_unknown_item_is_a_404(dc: TestClient, item: str) -> None:
    assert_error(dc.post("/api/denoise", data={"item": item}), 404, "unknown_item")


def test_a_model_that_is_not_a_dae_is_a_409(dc: TestClient) -> None:
    message = assert_error(dc.post("/api/denoise", data={"item": 0, "dae": AE}), 409, "not_a_dae")
    assert DAE in message


def test_without_a_dae_the_409_names_what_to_train(client: TestClient) -> None:
    # the session's app serves one VAE only
    message = assert_error(client.post("/api/denoise", data={"item": 0}), 409, "no_dae")
    assert "--model dae" in message


def test_without_a_plain_ae_the_409_names_what_to_train(root: Path) -> None:
    for only_dae in serve(root, DAE):
        response = only_dae.post("/api/denoise", data={"item": 0})
        message = assert_error(response, 409, "no_ae")
        assert "--model ae" in message and DAE in message


def test_a_shown_model_on_other_items_takes_an_upload_but_not_an_item(
    root: Path, workspace: Path, tmp_path: Path, dae_index: LatentIndex
) -> None:
    """The session's VAE indexes all 1,797 digits, the dae 400: its item 7 is another image."""
    mixed = tmp_path / "mixed"
    shutil.copytree(root, mixed)
    shutil.copytree(workspace / VAE, mixed / VAE)
    for client in serve(mixed):
        message = assert_error(
            client.post("/api/denoise", data={"item": ITEM, "model": VAE}), 409, "no_dae"
        )
        assert f"on the items of {VAE!r}" in message
        assert dae_index.images is not None
        files = {"file": ("seven.png", encode_file(dae_index.images[ITEM, 0]), "image/png")}
        body = denoise(client, files=files, model=VAE, seed=5)
        assert (body["dae"], body["ae"]) == (DAE, AE)
        assert body["dae_output"] == denoise(client, item=ITEM, model=DAE, seed=5)["dae_output"]

"""POST /encode: uploads placed on the map, reconstructed, scored and given neighbours."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.index.store import LatentIndex
from tests.api.helpers import brute_force_neighbours, encode_file, png_pixels

ITEMS = [0, 7, 1234]


def encode(client: TestClient, api: str, *files: bytes, k: int = 8) -> list[dict[str, Any]]:
    parts = [("file", (f"upload-{i}.png", data, "image/png")) for i, data in enumerate(files)]
    response = client.post(f"{api}/encode", params={"k": k}, files=parts)
    assert response.status_code == 200, response.text[:300]
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == len(files)
    return items


def test_a_dataset_image_encodes_to_its_stored_latent(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    items = encode(client, api, *(encode_file(index.images[i, 0]) for i in ITEMS), k=5)
    for i, (item_id, item) in enumerate(zip(ITEMS, items, strict=True)):
        latent = np.asarray(item["latent"])
        np.testing.assert_allclose(latent, index.latents[item_id], atol=1e-5)
        assert item["filename"] == f"upload-{i}.png"
        # The model's view of the upload is the dataset image itself (same size, no resize).
        np.testing.assert_array_equal(png_pixels(item["input"]), index.images[item_id, 0])
        reconstruction = png_pixels(item["image"])
        expected = decode_reference(latent[None])[0]
        assert np.abs(reconstruction.astype(int) - expected).max() <= 1
        assert item["reconstruction_error"] == pytest.approx(index.errors[item_id], rel=1e-4)
        neighbours = item["neighbours"]
        assert neighbours["metric"] == "euclidean"
        assert neighbours["ids"][0] == item_id
        assert neighbours["distances"][0] < 1e-5
        ids, dist = brute_force_neighbours(index.latents, latent, 5, "euclidean")
        assert neighbours["ids"] == ids.tolist()
        np.testing.assert_allclose(neighbours["distances"], dist, atol=1e-5)
        umap = index.projections["umap"].embedding_[item_id]
        np.testing.assert_allclose(item["positions"]["umap"], umap, atol=1e-4)
        pca = index.projections["pca"].embedding_[item_id]
        np.testing.assert_allclose(item["positions"]["pca"], pca, atol=1e-4)


def test_error_percentile_ranks_the_error_among_the_dataset(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    (item,) = encode(client, api, encode_file(index.images[42, 0]))
    assert 0.0 <= item["error_percentile"] <= 100.0
    expected = 100.0 * np.mean(index.errors <= item["reconstruction_error"])
    assert item["error_percentile"] == pytest.approx(expected, abs=100.0 / len(index))


def test_noise_is_more_anomalous_than_a_dataset_image(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    digit, random = encode(client, api, encode_file(index.images[3, 0]), encode_file(noise))
    assert random["reconstruction_error"] > digit["reconstruction_error"]
    assert random["error_percentile"] > digit["error_percentile"]
    assert random["error_percentile"] >= 95.0  # uniform noise costs an MSE of at least 1/12


def test_position_does_not_depend_on_the_other_uploads(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    image = encode_file(index.images[10, 0])
    (alone,) = encode(client, api, image)
    together = encode(client, api, encode_file(index.images[500, 0]), image, image)
    for item in together[1:]:
        assert item["positions"] == alone["positions"]
        assert item["latent"] == alone["latent"]
    assert together[0]["positions"] != alone["positions"]


def test_k_zero_gives_no_neighbours(client: TestClient, api: str, index: LatentIndex) -> None:
    (item,) = encode(client, api, encode_file(index.images[0, 0]), k=0)
    assert item["neighbours"] is None


# -- what people actually upload: each variant becomes the model input it should ----------


@pytest.fixture(scope="module")
def digits(index: LatentIndex) -> tuple[np.ndarray, np.ndarray]:
    """Two dataset images, (16, 16) uint8 each."""
    return index.images[0, 0], index.images[1, 0]


def upload_input(client: TestClient, api: str, data: bytes) -> np.ndarray:
    """The model input (16, 16) the server made of an upload."""
    (item,) = encode(client, api, data, k=0)
    return png_pixels(item["input"]).astype(int)


def test_animated_gif_uses_its_first_frame(
    client: TestClient, api: str, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    first, second = (Image.fromarray(d) for d in digits)
    gif = encode_file(first, "GIF", save_all=True, append_images=[second], duration=50)
    with Image.open(io.BytesIO(gif)) as check:
        assert check.n_frames == 2
    np.testing.assert_array_equal(upload_input(client, api, gif), digits[0])


def test_16_bit_png_keeps_its_full_range(
    client: TestClient, api: str, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    wide = Image.fromarray(digits[0].astype(np.uint16) * 257)  # 0..65535
    assert wide.mode == "I;16"
    np.testing.assert_array_equal(upload_input(client, api, encode_file(wide)), digits[0])


def test_palette_png_is_read_through_its_palette(
    client: TestClient, api: str, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    palette = Image.fromarray(digits[0]).convert("P")
    assert palette.mode == "P"
    np.testing.assert_array_equal(upload_input(client, api, encode_file(palette)), digits[0])


def test_transparent_pixels_fall_on_the_black_background(client: TestClient, api: str) -> None:
    rgba = np.full((16, 16, 4), 255, np.uint8)  # white everywhere...
    rgba[:, 8:, 3] = 0  # ...but the right half fully transparent
    pixels = upload_input(client, api, encode_file(Image.fromarray(rgba, "RGBA")))
    assert (pixels[:, :8] == 255).all()
    assert (pixels[:, 8:] == 0).all()


def halves(width: int = 64) -> np.ndarray:
    """Black left half, white right half."""
    image = np.zeros((width, width), np.uint8)
    image[:, width // 2 :] = 255
    return image


def test_cmyk_jpeg_is_converted_to_grey(client: TestClient, api: str) -> None:
    cmyk = Image.fromarray(halves()).convert("CMYK")
    data = encode_file(cmyk, "JPEG", quality=95)
    pixels = upload_input(client, api, data)
    assert pixels[:, :7].max() <= 10  # JPEG is lossy: allow a little ringing
    assert pixels[:, 9:].min() >= 245


def test_exif_orientation_is_applied(client: TestClient, api: str) -> None:
    stored = halves().T.copy()  # white bottom half as stored...
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # ...shown rotated 90 degrees clockwise: white moves to the left
    data = encode_file(image, "JPEG", quality=95, exif=exif.tobytes())
    pixels = upload_input(client, api, data)
    assert pixels[:, :7].min() >= 245
    assert pixels[:, 9:].max() <= 10

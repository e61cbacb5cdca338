"""A generated corpus of bad and odd uploads, each POSTed to /encode over HTTP.

Every file gets its documented answer (README, "What an upload gets"): a 4xx with an exact
status and error code for the bad ones, a correct result for the odd but valid ones. After
every file the server still answers /api/health and still encodes a known image to the same
latent as before. The files are made here, in memory (makers in tests/uploads.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.helpers import assert_error, png_pixels
from tests.uploads import (
    animated,
    encode,
    eps,
    gif_with_size,
    noise_file,
    png_with_size,
    svg,
    truncated,
    with_orientation,
)

API = "/api/models/digits-vae-4"
SIZE = (16, 16)  # the session model's images: grey, 16 x 16
LATENT_DIM = 4


def letter_f(height: int, width: int) -> np.ndarray:
    """(H, W) uint8: a white "F" on black inside the central square, the part the model sees
    after its centre crop. No flip or rotation of an F is an F."""
    pixels = np.zeros((height, width), dtype=np.uint8)
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2

    def fill(r0: float, r1: float, c0: float, c1: float) -> None:
        rows = slice(top + int(r0 * side), top + int(r1 * side))
        pixels[rows, left + int(c0 * side) : left + int(c1 * side)] = 255

    fill(0.15, 0.85, 0.25, 0.42)  # stem
    fill(0.15, 0.32, 0.25, 0.80)  # top bar
    fill(0.45, 0.60, 0.25, 0.65)  # middle bar
    return pixels


def post(client: TestClient, data: bytes, filename: str, content_type: str = "image/png") -> Any:
    """POST one file as the page does (the browser's guess of a type, here often wrong)."""
    files = {"file": (filename, data, content_type)}
    return client.post(f"{API}/encode", files=files, params={"k": 3})


def encoded(response: Any) -> dict[str, Any]:
    """The one item of a 200 answer, checked for shapes and finite numbers throughout."""
    assert response.status_code == 200, response.text[:300]
    (item,) = response.json()["items"]
    latent = np.asarray(item["latent"], dtype=np.float64)
    assert latent.shape == (LATENT_DIM,) and np.isfinite(latent).all()
    assert set(item["positions"]) == {"pca", "umap", "tsne"}
    assert np.isfinite(np.asarray(list(item["positions"].values()))).all()
    png_pixels(item["image"], SIZE)  # the reconstruction: a grey 16 x 16 PNG
    png_pixels(item["input"], SIZE)  # the upload as the model sees it
    assert np.isfinite(item["reconstruction_error"]) and item["reconstruction_error"] >= 0
    assert 0.0 <= item["error_percentile"] <= 100.0
    assert len(item["neighbours"]["ids"]) == 3
    return dict(item)


def seen(item: dict[str, Any]) -> np.ndarray:
    """What the model was given, as (16, 16) grey levels 0..255 (int, to subtract)."""
    return png_pixels(item["input"], SIZE).astype(int)


GOOD = encode(Image.fromarray(letter_f(64, 64)), "PNG")


@pytest.fixture(scope="module")
def good_latent(client: TestClient) -> list[float]:
    latent: list[float] = encoded(post(client, GOOD, "good.png"))["latent"]
    return latent


def still_serving(client: TestClient, good_latent: list[float]) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert encoded(post(client, GOOD, "good.png"))["latent"] == good_latent


# -- refused: (make the file, its name, status, code, a phrase the message must hold) ---------

Refusal = tuple[Callable[[], bytes], str, int, str, str]
SMALL_PNG = encode(Image.new("L", (8, 8)), "PNG")

REFUSED: dict[str, Refusal] = {
    "zero bytes": (lambda: b"", "empty.png", 400, "empty_upload", "the upload is empty (0 bytes)"),
    "random bytes": (
        lambda: np.random.default_rng(0).bytes(4096),
        "noise.png",
        415,
        "unsupported_format",
        "the file is not an image",
    ),
    "text named .png": (
        lambda: b"milk\neggs\nbread\n",
        "shopping.png",
        415,
        "unsupported_format",
        "the file is not an image",
    ),
    "truncated PNG": (
        lambda: truncated(noise_file("PNG"), 0.6),
        "cut.png",
        400,
        "corrupt_image",
        "the PNG file is truncated or damaged",
    ),
    "PNG signature only": (
        lambda: SMALL_PNG[:8],
        "cut.png",
        400,
        "corrupt_image",
        "the PNG file is truncated or damaged",
    ),
    "truncated JPEG": (
        lambda: truncated(noise_file("JPEG"), 0.6),
        "cut.jpg",
        400,
        "corrupt_image",
        "the JPEG file is truncated or damaged",
    ),
    "JPEG header only": (
        lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 40,
        "cut.jpg",
        400,
        "corrupt_image",
        "the JPEG file is truncated or damaged",
    ),
    "PNG bomb": (  # 53 bytes claiming 50,000 x 50,000 px
        lambda: png_with_size(SMALL_PNG, 50_000, 50_000),
        "bomb.png",
        413,
        "image_too_large",
        "image has 2,500,000,000 pixels; the limit is 4,000,000",
    ),
    "PNG just over the pixel limit": (  # a real image: 2001 x 2001 black, ~4 KB
        lambda: encode(Image.new("L", (2001, 2001)), "PNG", optimize=True),
        "big.png",
        413,
        "image_too_large",
        "image is 2001x2001 = 4,004,001 pixels; the limit is 4,000,000",
    ),
    "GIF bomb": (  # ~40 bytes claiming 65,535 x 65,535 px
        lambda: gif_with_size(65_535, 65_535),
        "bomb.gif",
        413,
        "image_too_large",
        "image has 4,294,836,225 pixels; the limit is 4,000,000",
    ),
    "GIF over the pixel limit": (
        lambda: gif_with_size(3000, 3000),
        "big.gif",
        413,
        "image_too_large",
        "image is 3000x3000 = 9,000,000 pixels; the limit is 4,000,000",
    ),
    "SVG": (svg, "drawing.svg", 415, "unsupported_format", "an SVG drawing, which is not accepted"),
    "SVG with an XML declaration": (
        lambda: b'<?xml version="1.0"?>\n' + svg(),
        "drawing.svg",
        415,
        "unsupported_format",
        "an XML/SVG file, which is not accepted",
    ),
    "TIFF": (
        lambda: encode(Image.new("L", (16, 16)), "TIFF"),
        "scan.tiff",
        415,
        "unsupported_format",
        "a TIFF image, which is not accepted",
    ),
    "PDF": (
        lambda: encode(Image.new("RGB", (16, 16)), "PDF"),
        "paper.pdf",
        415,
        "unsupported_format",
        "a PDF document, which is not accepted",
    ),
    "EPS": (
        eps,
        "figure.eps",
        415,
        "unsupported_format",
        "a PostScript/EPS file, which is not accepted",
    ),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_bad_upload_gets_its_documented_4xx(
    client: TestClient, good_latent: list[float], kind: str
) -> None:
    make, filename, status, code, phrase = REFUSED[kind]
    message = assert_error(post(client, make(), filename), status, code)
    assert message.startswith(f"{filename}: "), message
    assert phrase in message, message
    if status == 415:
        assert message.endswith("upload a PNG, JPEG, GIF, WebP or BMP"), message
    still_serving(client, good_latent)


# -- accepted: odd but valid images give a correct result ------------------------------------


def test_tiny_and_thin_images_are_scaled_to_the_model(
    client: TestClient, good_latent: list[float]
) -> None:
    for size in [(1, 1), (1, 10_000), (10_000, 1)]:
        item = encoded(post(client, encode(Image.new("L", size, 200), "PNG"), "odd.png"))
        assert np.abs(seen(item) - 200).max() <= 1, size
        still_serving(client, good_latent)


def test_a_16_bit_png_is_scaled_from_its_full_range(
    client: TestClient, good_latent: list[float]
) -> None:
    levels = np.full((64, 64), 16_384, dtype=np.uint16)  # a quarter of full scale below
    levels[:32] = 65_535  # white above
    data = encode(Image.fromarray(levels), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    pixels = seen(encoded(post(client, data, "deep.png")))
    assert np.abs(pixels[:6] - 255).max() <= 1  # clipped at 8 bits, this would be 255 too ...
    assert np.abs(pixels[10:] - 64).max() <= 1  # ... but this would be 255, not 64
    still_serving(client, good_latent)


def test_a_cmyk_jpeg_is_converted_before_the_grey_model_sees_it(
    client: TestClient, good_latent: list[float]
) -> None:
    cyan_ink = encode(Image.new("CMYK", (32, 32), (255, 0, 0, 0)), "JPEG", quality=95)
    pixels = seen(encoded(post(client, cyan_ink, "print.jpg", "image/jpeg")))
    # Cyan ink is RGB (0, 255, 255): luminance 0.587 * 255 + 0.114 * 255 = 179.
    assert np.abs(pixels - 179).max() <= 3
    still_serving(client, good_latent)


def test_a_palette_png_shows_the_training_background_where_transparent(
    client: TestClient, good_latent: list[float]
) -> None:
    im = Image.new("P", (32, 32), 1)
    im.putpalette([255, 255, 255, 0, 255, 0])  # 0: white, declared transparent; 1: green
    im.paste(0, (0, 0, 16, 32))  # the left half
    pixels = seen(encoded(post(client, encode(im, "PNG", transparency=0), "sticker.png")))
    assert np.abs(pixels[:, :5]).max() <= 1  # the black the digits were trained on, not white
    assert np.abs(pixels[:, 11:] - 150).max() <= 1  # green's luminance: 0.587 * 255
    still_serving(client, good_latent)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_encodes_as_its_first_frame(
    client: TestClient, good_latent: list[float], fmt: str
) -> None:
    red, green, blue = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    data = animated(fmt, [red, green, blue], size=32)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    item = encoded(post(client, data, f"moving.{fmt.lower()}"))
    assert np.abs(seen(item) - 76).max() <= 1  # red's luminance: 0.299 * 255
    first = encoded(post(client, encode(Image.new("RGB", (32, 32), red), "PNG"), "red.png"))
    np.testing.assert_allclose(item["latent"], first["latent"], atol=1e-6)
    still_serving(client, good_latent)


def test_every_exif_orientation_encodes_like_the_upright_photo(
    client: TestClient, good_latent: list[float]
) -> None:
    upright = letter_f(240, 320)  # a landscape photo, decoded at reduced size (JPEG draft)
    first = encoded(post(client, with_orientation(upright, 1), "photo.jpg", "image/jpeg"))
    reference = np.asarray(first["latent"])
    # The same file without the EXIF rotation applied: what a bug would encode. Its latent is
    # the yardstick for "close".
    sideways = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    wrong = encoded(post(client, encode(sideways, "JPEG", quality=95), "raw.jpg", "image/jpeg"))
    far = np.linalg.norm(np.asarray(wrong["latent"]) - reference)
    assert np.abs(seen(wrong) - seen(first)).max() > 200  # sideways really looks different
    for orientation in range(2, 9):
        data = with_orientation(upright, orientation)
        item = encoded(post(client, data, f"photo-{orientation}.jpg", "image/jpeg"))
        assert np.abs(seen(item) - seen(first)).max() <= 2, orientation
        distance = np.linalg.norm(np.asarray(item["latent"]) - reference)
        assert distance <= 0.02 * far, (orientation, distance, far)
        still_serving(client, good_latent)

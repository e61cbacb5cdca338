"""Uploads in, (C, H, W) floats out; PNGs out; grids. Every file here is made by PIL in memory
(shared makers in tests/uploads.py)."""

from __future__ import annotations

import base64
import io
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageFile, JpegImagePlugin

from app.services.images import (
    images_grid,
    load_upload,
    png_bytes,
    png_data_url,
)
from models.errors import LatentExplorerError
from tests.uploads import (
    EXIF_ORIENTATION,
    asymmetric_pattern,
    encode,
    eps,
    png_with_size,
    svg,
    with_orientation,
)

LIMIT = 40_000_000
ALLOWED = {"PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP"}
RNG_SEED = 0


def load(data: bytes, shape: tuple[int, int, int], *, background: float = 0.0) -> np.ndarray:
    return load_upload(data, image_shape=shape, max_pixels=LIMIT, background=background)


def refused(
    data: bytes, *, max_pixels: int = LIMIT, filename: str | None = None
) -> LatentExplorerError:
    with pytest.raises(LatentExplorerError) as caught:
        load_upload(data, image_shape=(1, 28, 28), max_pixels=max_pixels, filename=filename)
    return caught.value


@pytest.fixture
def only_allowed_decoders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every other Pillow decoder (EPS, PDF, TIFF, ICO...) fail the test if it is tried."""
    Image.init()

    def tried(*_: object) -> None:
        raise AssertionError("a decoder outside the allow-list was tried")

    for fmt, (_factory, accept) in list(Image.OPEN.items()):
        if fmt not in ALLOWED:
            monkeypatch.setitem(Image.OPEN, fmt, (tried, accept))


# --- pixels in -----------------------------------------------------------------------------


def test_grey_png_round_trip_is_exactly_pixels_over_255() -> None:
    pixels = (np.arange(28 * 28) % 256).astype(np.uint8).reshape(28, 28)
    x = load(encode(Image.fromarray(pixels), "PNG"), (1, 28, 28))
    assert x.dtype == np.float32 and x.shape == (1, 28, 28) and x.flags.c_contiguous
    assert np.array_equal(x[0], pixels / np.float32(255))
    assert x.min() == 0.0 and x.max() == 1.0


def test_grey_model_gets_pil_luminance_of_rgb() -> None:
    rgb = np.random.default_rng(RNG_SEED).integers(0, 256, (28, 28, 3), dtype=np.uint8)
    x = load(encode(Image.fromarray(rgb), "PNG"), (1, 28, 28))
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    itu_601 = (r * 299 + g * 587 + b * 114) / 1000  # the formula PIL documents for "L"
    error = np.abs(x[0] * 255 - itu_601)
    assert error.max() <= 0.5 + 1e-3  # PIL rounds to the nearest level, never further
    # Colour model: the same file gives the RGB channels exactly.
    assert np.array_equal(
        load(encode(Image.fromarray(rgb), "PNG"), (3, 28, 28)) * 255, rgb.transpose(2, 0, 1)
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_is_composited_onto_the_background_grey(channels: int) -> None:
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[:, :2] = (255, 0, 0, 0)  # invisible red
    rgba[:, 2:4] = (0, 0, 255, 255)  # opaque blue
    rgba[:, 4:] = (255, 255, 255, 51)  # white at 20 %
    x = load(encode(Image.fromarray(rgba), "PNG"), (channels, 4, 6), background=0.25)
    assert np.all(x[:, :, :2] == np.float32(0.25))
    blue = [0.0, 0.0, 1.0] if channels == 3 else [29 / 255]  # L of pure blue is 29
    assert np.allclose(x[:, :, 2:4], np.array(blue)[:, None, None], atol=1e-6)
    assert np.allclose(x[:, :, 4:], 1.0 * 0.2 + 0.25 * 0.8, atol=1e-6)


def test_palette_png_transparent_index_shows_the_background() -> None:
    im = Image.new("P", (4, 4), 1)
    im.putpalette([255, 0, 0, 0, 255, 0])  # 0: red, 1: green
    im.paste(0, (0, 0, 2, 4))  # left half index 0, declared transparent below
    data = encode(im, "PNG", transparency=0)
    assert Image.open(io.BytesIO(data)).info.get("transparency") == 0  # tRNS really written
    x = load(data, (3, 4, 4), background=0.5)
    assert np.all(x[:, :, :2] == np.float32(0.5))
    assert np.array_equal(
        x[:, :, 2:], np.broadcast_to(np.array([0, 1, 0.0])[:, None, None], (3, 4, 2))
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_single_transparent_colour_of_rgb_and_grey_pngs(channels: int) -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0] = (255, 0, 0)  # top row red, declared transparent
    rgb[1] = (255, 255, 255)
    x = load(
        encode(Image.fromarray(rgb), "PNG", transparency=(255, 0, 0)),
        (channels, 2, 2),
        background=0.5,
    )
    assert np.all(x[:, 0] == np.float32(0.5)) and np.all(x[:, 1] == 1.0)
    grey = np.array([[7, 7], [200, 200]], dtype=np.uint8)
    x = load(encode(Image.fromarray(grey), "PNG", transparency=7), (channels, 2, 2), background=0.5)
    assert np.all(x[:, 0] == np.float32(0.5)) and np.allclose(x[:, 1], 200 / 255)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    values = np.array([[65535, 32768], [1000, 0]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    x = load(data, (1, 2, 2))
    assert np.allclose(x[0], values / 65535, atol=1e-6)  # 1.0, ~0.5, 0.0153, 0.0
    assert x[0, 0, 1] == pytest.approx(0.5, abs=1e-4)
    colour = load(data, (3, 2, 2))  # grey onto a colour model: three equal channels
    assert np.array_equal(colour, np.repeat(x, 3, axis=0))
    # A sharp edge resized: Lanczos rings ~9 % past black and white; the output stays in range.
    edge = np.zeros((10, 10), dtype=np.uint16)
    edge[:, 5:] = 65535
    x = load(encode(Image.fromarray(edge), "PNG"), (1, 7, 7))
    assert x.min() == 0.0 and x.max() == 1.0
    # With one value declared transparent (PNG tRNS), which Pillow's conversions ignore.
    x = load(encode(Image.fromarray(values), "PNG", transparency=1000), (1, 2, 2), background=0.5)
    assert np.allclose(x[0], [[1.0, 128 / 255], [0.5, 0.0]], atol=1e-6)


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    cyan_ink = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    x = load(encode(cyan_ink, "JPEG", quality=95), (3, 16, 16))
    r, g, b = x.mean(axis=(1, 2))
    assert r < 0.05 and g > 0.95 and b > 0.95


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})],
    ids=["gif", "apng", "webp"],
)
def test_animations_give_their_first_frame(fmt: str, params: dict[str, object]) -> None:
    red, green, blue = (
        Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    )
    data = encode(red, fmt, save_all=True, append_images=[green, blue], duration=100, **params)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    x = load(data, (3, 8, 8))
    assert np.allclose(x.mean(axis=(1, 2)), [1.0, 0.0, 0.0], atol=0.02)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    upright = asymmetric_pattern()
    data = with_orientation(upright, orientation)
    assert Image.open(io.BytesIO(data)).getexif()[EXIF_ORIENTATION] == orientation
    x = load(data, (1, 24, 40))
    assert np.abs(x[0] - upright / 255).max() < 0.15  # JPEG ringing at the block edges
    assert x[0, :8, :8].mean() > 0.95
    assert abs(x[0, :8, -8:].mean() - 128 / 255) < 0.03
    assert x[0, 12:, :].mean() < 0.02


@pytest.mark.parametrize(
    "size", [(1, 1), (1, 10_000), (10_000, 1)], ids=["1x1", "1x10000", "10000x1"]
)
def test_degenerate_sizes_still_give_the_model_shape(size: tuple[int, int]) -> None:
    x = load(encode(Image.new("L", size, 200), "PNG"), (1, 28, 28))
    assert x.shape == (1, 28, 28)
    assert np.allclose(x, 200 / 255, atol=1 / 255)


def test_other_aspect_ratios_are_centre_cropped_not_squashed() -> None:
    stripes = np.zeros((30, 90, 3), dtype=np.uint8)
    stripes[:, :30] = (255, 0, 0)
    stripes[:, 30:60] = (0, 255, 0)
    stripes[:, 60:] = (0, 0, 255)
    x = load(encode(Image.fromarray(stripes), "PNG"), (3, 10, 10))
    inner = x[:, :, 1:9]  # the edge columns pick up some of the neighbours (Lanczos)
    assert np.allclose(inner, np.array([0, 1, 0.0])[:, None, None], atol=1.5 / 255)  # ringing


@pytest.mark.parametrize("orientation", [1, 6])
def test_big_jpeg_is_decoded_small_but_sharp_enough(
    orientation: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    upright = np.zeros((500, 4000), dtype=np.uint8)  # 8:1 panorama, to a 1:4 portrait model
    upright[:250] = 255  # top half white
    stored = Image.fromarray(upright)
    exif = Image.Exif()
    if orientation == 6:
        stored = stored.transpose(Image.Transpose.ROTATE_90)  # stored 500 wide, 4000 tall
        exif[0x0112] = 6
    drafted: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int, float, float]] | None:
        result = original_draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    x = load(encode(stored, "JPEG", quality=90, exif=exif), (1, 40, 10))
    assert np.all(x[0, :18] > 0.97) and np.all(x[0, 22:] < 0.03)
    # The centre crop of the upright image is 125 x 500 px and the model wants 10 x 40: libjpeg
    # decodes at 1/4 (not 1/8, which would leave less than twice the target in the crop).
    ((w, h),) = drafted
    assert (w, h) == ((1000, 125) if orientation == 1 else (125, 1000))


@pytest.mark.parametrize(
    ("mode", "fmt", "pixels", "expected"),
    [
        ("1", "BMP", [[0, 255], [255, 0]], [[0, 1], [1, 0]]),
        ("L", "BMP", [[0, 64], [128, 255]], [[0, 64 / 255], [128 / 255, 1]]),
        ("L", "WEBP", [[0, 64], [128, 255]], [[0, 64 / 255], [128 / 255, 1]]),
        ("L", "GIF", [[0, 64], [128, 255]], [[0, 64 / 255], [128 / 255, 1]]),
    ],
)
def test_other_modes_and_formats_decode_exactly(
    mode: str, fmt: str, pixels: list[list[int]], expected: list[list[float]]
) -> None:
    im = Image.fromarray(np.array(pixels, dtype=np.uint8)).convert(mode)
    params = {"lossless": True} if fmt == "WEBP" else {}
    x = load(encode(im, fmt, **params), (1, 2, 2))
    assert np.allclose(x[0], expected, atol=1e-6)


def test_grey_with_alpha_png() -> None:
    # (H, W, 2): (grey, alpha) pairs; top row opaque white, then 100 at 50 %, then transparent.
    la = np.array([[[255, 255], [255, 255]], [[100, 128], [0, 0]]], dtype=np.uint8)
    x = load(encode(Image.fromarray(la), "PNG"), (1, 2, 2), background=1.0)
    expected = [[1.0, 1.0], [100 / 255 * 128 / 255 + 127 / 255, 1.0]]
    assert np.allclose(x[0], expected, atol=1e-6)


def test_typical_small_png_loads_well_under_a_millisecond() -> None:
    data = encode(Image.fromarray(np.zeros((28, 28), dtype=np.uint8)), "PNG")
    times = []
    for _ in range(50):
        start = time.perf_counter()
        load(data, (1, 28, 28))
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 1e-3  # ~0.08 ms on 2 cores; slack for a busy machine


# --- refusals ------------------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def decoded(*_: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)


def test_header_over_our_limit_is_413_before_decoding(no_decoding: None) -> None:
    png = png_with_size(encode(Image.new("L", (8, 8)), "PNG"), 300, 300)
    error = refused(png, max_pixels=50_000)
    assert (error.status, error.code) == (413, "image_too_large")
    assert str(error) == "image is 300x300 = 90,000 pixels; the limit is 50,000"


def test_header_claiming_50000_squared_is_413_before_decoding(no_decoding: None) -> None:
    pil_limit, filters = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    png = png_with_size(encode(Image.new("L", (8, 8)), "PNG"), 50_000, 50_000)
    error = refused(png, filename="bomb.png")
    assert (error.status, error.code) == (413, "image_too_large")
    assert str(error) == "bomb.png: image has 2,500,000,000 pixels; the limit is 40,000,000"
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == (pil_limit, filters)


def test_pil_bomb_warning_is_refused_too(no_decoding: None) -> None:
    assert Image.MAX_IMAGE_PIXELS is not None
    side = int(Image.MAX_IMAGE_PIXELS**0.5) + 100  # over PIL's limit, under twice it
    png = png_with_size(encode(Image.new("L", (8, 8)), "PNG"), side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in production, where warnings are not errors
        error = refused(png, max_pixels=10 * Image.MAX_IMAGE_PIXELS)
    assert (error.status, error.code) == (413, "image_too_large")
    assert f"the limit is {Image.MAX_IMAGE_PIXELS:,}" in str(error)


def test_empty_upload_is_400() -> None:
    error = refused(b"")
    assert (error.status, error.code) == (400, "empty_upload")
    assert "empty" in str(error)


FOREIGN: dict[str, tuple[Callable[[], bytes], str]] = {
    "random": (lambda: np.random.default_rng(RNG_SEED).bytes(4096), "not an image"),
    "text": (lambda: b"hello, this is a shopping list\nmilk\n", "not an image"),
    "svg": (svg, "SVG"),
    "xml_svg": (lambda: b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg/>', "XML/SVG"),
    "tiff": (lambda: encode(Image.new("RGB", (8, 8), "red"), "TIFF"), "TIFF"),
    "pdf": (lambda: encode(Image.new("RGB", (8, 8), "red"), "PDF"), "PDF"),
    "eps": (eps, "PostScript/EPS"),
    "ico": (lambda: encode(Image.new("RGB", (16, 16), "red"), "ICO"), "ICO"),
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_foreign_files_are_415_and_never_reach_their_decoder(
    kind: str, only_allowed_decoders: None
) -> None:
    make, named = FOREIGN[kind]
    error = refused(make(), filename=f"upload.{kind}")
    assert (error.status, error.code) == (415, "unsupported_format")
    assert str(error).startswith(f"upload.{kind}: ")
    assert named in str(error) and "upload a PNG, JPEG, GIF, WebP or BMP" in str(error)


def test_refused_fixtures_are_real_files_pil_would_otherwise_open() -> None:
    # Without formats=, PIL identifies these; so the 415s above are the allow-list at work.
    for kind, fmt in [("tiff", "TIFF"), ("eps", "EPS"), ("ico", "ICO")]:
        assert Image.open(io.BytesIO(FOREIGN[kind][0]())).format == fmt


def test_a_tiff_named_png_is_still_refused() -> None:
    error = refused(encode(Image.new("L", (8, 8)), "TIFF"), filename="innocent.png")
    assert (error.status, error.code) == (415, "unsupported_format")


@pytest.mark.parametrize(
    ("fmt", "keep"), [("PNG", 0.6), ("JPEG", 0.6), ("PNG", 0.02), ("GIF", 0.5)]
)
def test_truncated_files_are_400(fmt: str, keep: float) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # the default, which the code relies on
    noise = np.random.default_rng(RNG_SEED).integers(0, 256, (64, 64), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    error = refused(data[: int(len(data) * keep)])
    assert (error.status, error.code) == (400, "corrupt_image")
    assert str(error) == f"the {fmt} file is truncated or damaged"


def test_damaged_pixel_data_is_400() -> None:
    data = bytearray(encode(Image.fromarray(np.zeros((64, 64), dtype=np.uint8)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10 : idat + 20] = b"\xff" * 10  # the CRC no longer matches
    error = refused(bytes(data))
    assert (error.status, error.code) == (400, "corrupt_image")


def test_filenames_are_tamed_in_messages() -> None:
    error = refused(b"", filename="a\x1b[31mb\nc" + "x" * 200)
    assert str(error).startswith("a[31mbc" + "x" * 73 + ": the upload is empty")


# --- pixels out ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_png_bytes_round_trip_through_pil(channels: int) -> None:
    pixels = np.random.default_rng(RNG_SEED).integers(0, 256, (channels, 7, 5), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(png_bytes(pixels)))
    assert decoded.mode == ("L" if channels == 1 else "RGB") and decoded.size == (5, 7)
    hwc = np.asarray(decoded).reshape(7, 5, channels)
    assert np.array_equal(hwc.transpose(2, 0, 1), pixels)


def test_png_bytes_rounds_and_clips_floats() -> None:
    image = np.array([[[0.0, 0.5, 1.0, -0.2, 1.7, np.nan, 0.3]]], dtype=np.float32)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(image))))
    assert decoded.tolist() == [[0, 128, 255, 0, 255, 0, 76]]


def test_png_data_url_holds_the_same_png() -> None:
    image = np.full((1, 3, 3), 0.5, dtype=np.float32)
    url = png_data_url(image)
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png_bytes(image)


def test_png_bytes_refuses_other_shapes() -> None:
    with pytest.raises(ValueError, match="C = 1 or 3"):
        png_bytes(np.zeros((2, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(np.zeros((1, 4, 4), dtype=np.int64))  # 0..255 or 0..1? ambiguous, so refused


def test_upload_then_png_is_the_identity_for_8_bit_grey() -> None:
    pixels = np.random.default_rng(RNG_SEED).integers(0, 256, (1, 12, 12), dtype=np.uint8)
    assert np.array_equal(load(png_bytes(pixels), (1, 12, 12)) * 255, pixels)


# --- grids ---------------------------------------------------------------------------------


def test_images_grid_places_tiles_row_by_row_with_gaps() -> None:
    images = np.stack([np.full((1, 2, 3), i / 10, dtype=np.float32) for i in range(5)])
    grid = images_grid(images, columns=3, pad=1, fill=1.0)
    assert grid.shape == (1, 2 * 2 + 1, 3 * 3 + 2) and grid.dtype == np.float32
    for i in range(5):
        top, left = (i // 3) * 3, (i % 3) * 4
        assert np.all(grid[0, top : top + 2, left : left + 3] == np.float32(i / 10))
    assert np.all(grid[0, 2, :] == 1.0) and np.all(grid[0, :, 3] == 1.0)  # gaps
    assert np.all(grid[0, 3:, 8:] == 1.0)  # the empty sixth cell


def test_images_grid_strip_and_uint8() -> None:
    images = np.zeros((2, 3, 4, 4), dtype=np.uint8)
    images[1] = 9
    strip = images_grid(images, columns=10, pad=2, fill=1.0)
    assert strip.shape == (3, 4, 10) and strip.dtype == np.uint8
    assert np.all(strip[:, :, :4] == 0) and np.all(strip[:, :, 4:6] == 255)
    assert np.all(strip[:, :, 6:] == 9)
    assert images_grid(images, columns=1, pad=0).shape == (3, 8, 4)

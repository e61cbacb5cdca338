"""Upload files of every kind, good, odd and hostile, made in memory by the tests that use them
(tests/services/test_images.py for the decoder, tests/api/test_upload_corpus.py over HTTP):
nothing binary is committed."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112

# How to store an upright image so that a viewer applying EXIF Orientation n shows it upright:
# the inverse of the transpose exif_transpose applies for n.
STORED_FOR_ORIENTATION: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # inverse of the ROTATE_270 that undoes it
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    """``im`` saved as ``fmt`` (a Pillow format name) with Pillow's save ``params``."""
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def asymmetric_pattern(height: int = 24, width: int = 40) -> np.ndarray:
    """(H, W) uint8, wider than tall, a bright block top-left and a grey one top-right: every
    flip and rotation of it looks different."""
    pixels = np.zeros((height, width), dtype=np.uint8)
    side = min(height, width) // 3
    pixels[:side, :side] = 255
    pixels[:side, -side:] = 128
    return pixels


def with_orientation(upright: np.ndarray, orientation: int, fmt: str = "JPEG") -> bytes:
    """A file whose pixels are stored turned so that EXIF ``orientation`` shows ``upright``."""
    stored = Image.fromarray(upright)
    if (method := STORED_FOR_ORIENTATION[orientation]) is not None:
        stored = stored.transpose(method)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    params: dict[str, object] = {"quality": 95} if fmt == "JPEG" else {}
    return encode(stored, fmt, exif=exif, **params)


def png_with_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its header claiming another size (CRC fixed, so only the size is a lie):
    a decompression bomb in a few dozen bytes."""
    start = 8 + 8  # signature, then the IHDR chunk's length and type
    ihdr = struct.pack(">II", width, height) + png[start + 8 : start + 13]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return png[:start] + ihdr + crc + png[start + 17 :]


def gif_with_size(width: int, height: int) -> bytes:
    """A GIF whose screen and image descriptor claim ``width`` x ``height`` (at most 65535
    each) over a one-pixel image's data: the GIF flavour of a decompression bomb."""
    gif = bytearray(encode(Image.new("L", (1, 1)), "GIF"))
    size = struct.pack("<HH", width, height)
    gif[6:10] = size  # logical screen
    at = 13  # after the header and the logical screen descriptor
    if gif[10] & 0x80:  # a global colour table follows
        at += 3 * 2 ** ((gif[10] & 0x07) + 1)
    while gif[at] == 0x21:  # extension blocks: label, then sub-blocks until a 0 length
        at += 2
        while gif[at]:
            at += gif[at] + 1
        at += 1
    assert gif[at] == 0x2C, "expected the image descriptor"
    gif[at + 5 : at + 9] = size  # after the separator, left and top: width, height
    return bytes(gif)


def noise_file(fmt: str, side: int = 64, seed: int = 0) -> bytes:
    """Grey noise saved as ``fmt``: big enough that cutting it short cuts the pixel data."""
    noise = np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)
    return encode(Image.fromarray(noise), fmt)


def truncated(data: bytes, keep: float) -> bytes:
    """The first ``keep`` (a fraction) of ``data``."""
    return data[: int(len(data) * keep)]


def animated(fmt: str, colours: list[tuple[int, int, int]], size: int = 8) -> bytes:
    """An animation of plain ``colours`` frames (GIF, PNG for APNG, or WEBP, lossless)."""
    first, *rest = (Image.new("RGB", (size, size), c) for c in colours)
    params: dict[str, object] = {"lossless": True} if fmt == "WEBP" else {}
    return encode(first, fmt, save_all=True, append_images=rest, duration=100, **params)


def eps() -> bytes:
    """A small, valid Encapsulated PostScript file (Pillow would hand it to Ghostscript)."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
        b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
    )


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>'

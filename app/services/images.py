"""Uploaded images in, model-ready arrays out; arrays back out as PNG.

`load_upload` is the one door user files come through, so it is also the security boundary:
only the PNG, JPEG, GIF, WebP and BMP decoders are ever tried (never Ghostscript for EPS/PDF,
never TIFF's many codecs), the pixel count is checked from the header before anything is
decoded, and every way a file can be broken ends as a `LatentExplorerError`
(models/errors.py) with an HTTP status and a message a person can act on.
"""

from __future__ import annotations

import base64
import io
import math
import re
import struct
import warnings
import zlib
from typing import Final

import numpy as np
from PIL import Image, ImageOps

from models.errors import (
    BadRequestError,
    LatentExplorerError,
    TooLargeError,
    UnsupportedMediaError,
)

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"

ACCEPTED = "a PNG, JPEG, GIF, WebP or BMP"

# Pillow plugin names. MPO is what the JPEG plugin calls the multi-picture JPEGs that many
# phone cameras write; it is decoded by the same JPEG code, so it is a JPEG to the user.
_DECODERS: Final = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
_ALLOWED_FORMATS: Final = frozenset({*_DECODERS, "MPO"})
_FORMAT_NAMES: Final = {"MPO": "JPEG", "WEBP": "WebP"}  # Pillow's name -> the user's

# Signatures of the accepted formats: a file that starts like one of them but does not open is
# broken (400), not foreign (415).
_ACCEPTED_MAGIC: Final = (
    (_PNG_SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
# Common things people upload by mistake, named in the message so they know what went wrong.
_FOREIGN_MAGIC: Final = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"%!PS", "a PostScript/EPS file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript/EPS file"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML/SVG file"),
    (b"8BPS", "a Photoshop document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
_HEIF_BRANDS: Final = (b"heic", b"heix", b"mif1", b"msf1", b"avif")

# Modes whose samples are 16-bit (or wider) grey: kept at full precision as float and scaled
# by 65535, because converting them to "L" would clip everything above 255 to white.
_WIDE_GREY_MODES: Final = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_ALPHA_MODES: Final = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})

# Big downscales go in two steps: an integer box reduction to about this many times the target
# (`Image.reduce`; for JPEG the decoder's own 1/2, 1/4, 1/8 DCT scaling, which also skips most
# of the decoding), then Lanczos for the rest. Pillow's docs find a gap of 3 indistinguishable
# from a plain Lanczos resize; measured here, 4000x4000 RGB -> 32x32 takes 34 ms instead of 190,
# and a 6000x4000 JPEG loads in 20 ms instead of 125 ms for the decode alone.
_REDUCING_GAP: Final = 3.0
_JPEG_DRAFT_GAP: Final = 2.0

_PIL_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")

# What Pillow raises for a file its decoder accepted but could not read to the end.
_DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
)


def load_upload(
    data: bytes,
    *,
    image_shape: tuple[int, int, int],
    max_pixels: int,
    background: float = 0.0,
    filename: str | None = None,
) -> np.ndarray:
    """Decode an uploaded image file into a float32 (C, H, W) array in [0, 1].

    The format is judged by the decoded content, never by `filename`, which only labels the
    error messages. Animated files give their first frame; the EXIF orientation is applied;
    transparency is composited onto the grey level `background` (0 is black, like MNIST);
    the image is converted to `image_shape`'s channel count (1: luminance, 3: RGB) and
    centre-cropped to its aspect ratio before resizing, so nothing is stretched.

    The pixel limit is the smaller of `max_pixels` and Pillow's own decompression-bomb limit
    (`PIL.Image.MAX_IMAGE_PIXELS`, about 89 million), which is left untouched.

    Raises `UnsupportedMediaError` (415), `TooLargeError` (413) or `BadRequestError` (400)
    for anything that cannot be used.
    """
    channels, height, width = image_shape
    if channels not in (1, 3) or height < 1 or width < 1:
        raise ValueError(f"image_shape must be (1 or 3, H >= 1, W >= 1), not {image_shape}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, not {max_pixels}")
    if not 0.0 <= background <= 1.0:
        raise ValueError(f"background must be a grey level in [0, 1], not {background}")

    label = _label(filename)
    if not data:
        raise BadRequestError(
            f"{label}the upload is empty (0 bytes): choose {ACCEPTED} file",
            code="empty_upload",
        )

    with warnings.catch_warnings():
        # Pillow warns (rather than raises) between 1x and 2x its limit; that is a refusal too.
        # catch_warnings restores the caller's filters, so nothing global changes for good.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_DECODERS) as im:
                return _decode(im, (height, width), channels, background, max_pixels, label)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            found = _PIL_BOMB_PIXELS.search(str(exc))
            size = f"image has {int(found.group(1)):,} pixels" if found else "image is too large"
            raise TooLargeError(
                f"{label}{size}; the limit is {limit:,}", code="image_too_large"
            ) from exc
        except Image.UnidentifiedImageError as exc:  # before _DECODE_ERRORS: it is an OSError
            raise _unidentified(data, label) from exc
        except _DECODE_ERRORS as exc:  # a decoder took the file but its header is broken
            raise _corrupt(_sniff(data) or "image", label) from exc


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] -> uint8, rounded to the nearest level: how every image the
    explorer sends is quantised. NaN (a diverged decoder) becomes black rather than an
    undefined cast."""
    scaled = np.nan_to_num(image.astype(np.float32, copy=False), nan=0.0) * 255.0
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a (C, H, W) image, float in [0, 1] or uint8, as PNG bytes (C=1 grey, C=3 RGB).

    Written here rather than through Pillow: for the 32x32 images this mostly serves, Pillow's
    fixed costs and per-row filter search take 50-150 us against 20-40 us for these few lines,
    and a page of decoded strips asks for dozens. Rows are unfiltered and zlib runs at level 1:
    at this size, better compression saves a few hundred bytes and costs more than it saves.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a (C, H, W) image with C = 1 or 3, got shape {image.shape}")
    if image.dtype == np.uint8:
        pixels = image
    elif not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"expected float pixels in [0, 1] or uint8, got {image.dtype}")
    else:
        pixels = to_uint8(image)
    channels, height, width = pixels.shape
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # filter byte 0 = None
    rows[:, 1:] = pixels.transpose(1, 2, 0).reshape(height, width * channels)  # (H, W*C)
    colour_type = 0 if channels == 1 else 2  # PNG: 0 greyscale, 2 truecolour
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _png_chunk(b"IEND", b""),
        )
    )


def png_data_url(image: np.ndarray) -> str:
    """The image as a `data:image/png;base64,...` URL, ready for an <img src>."""
    return png_data_url_from_png(png_bytes(image))


def png_data_url_from_png(png: bytes) -> str:
    """PNG bytes as a `data:image/png;base64,...` URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def images_grid(images: np.ndarray, columns: int, pad: int = 1, *, fill: float = 1.0) -> np.ndarray:
    """Tile (N, C, H, W) images row by row into one (C, H', W') image.

    Tiles are `pad` pixels apart; the gaps and any empty cells of the last row hold `fill`
    (in [0, 1]; scaled to 255 for uint8 input). The default is white because most datasets
    here have black backgrounds, against which a black gap would be invisible. With fewer
    images than `columns` the grid is one row of N, not a row padded with empty cells.
    """
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected (N, C, H, W) images with N >= 1, got shape {images.shape}")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}")
    if pad < 0:
        raise ValueError(f"pad must be 0 or more, not {pad}")
    n, c, h, w = images.shape
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    value = fill * 255 if np.issubdtype(images.dtype, np.integer) else fill
    grid = np.full(
        (c, rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad), value, dtype=images.dtype
    )  # (C, H', W')
    for i in range(n):
        top = (i // cols) * (h + pad)
        left = (i % cols) * (w + pad)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC of type + payload."""
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _decode(
    im: Image.Image,
    size: tuple[int, int],
    channels: int,
    background: float,
    max_pixels: int,
    label: str,
) -> np.ndarray:
    """Check, fully decode and resize an opened file into the model's (C, H, W) array."""
    if im.format not in _ALLOWED_FORMATS:  # unreachable while formats= holds; kept as the rule
        raise UnsupportedMediaError(
            f"{label}{im.format} images are not accepted: upload {ACCEPTED}",
            code="unsupported_format",
        )
    kind = _FORMAT_NAMES.get(im.format, im.format)
    w, h = im.size
    if w < 1 or h < 1:
        raise _corrupt(kind, label)
    if w * h > max_pixels:
        raise TooLargeError(
            f"{label}image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}",
            code="image_too_large",
        )
    try:
        if kind == "JPEG":
            _jpeg_draft(im, size, channels)
        # A full decode now, so truncation surfaces here as an error (Pillow only tolerates it
        # if ImageFile.LOAD_TRUNCATED_IMAGES is set, which this code never does).
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        working, full = _working_mode(im, channels)
        resized = _crop_resize(working, size)
    except _DECODE_ERRORS as exc:
        raise _corrupt(kind, label) from exc
    # Read the pixels out before the caller's `with` closes the file, which frees the image
    # when no conversion or resize made a copy.
    return _to_model_array(resized, full, channels, background)


def _jpeg_draft(im: Image.Image, size: tuple[int, int], channels: int) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the photo is far bigger than needed."""
    height, width = size
    w, h = im.size
    if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # stored sideways: target axes swap
        height, width = width, height
    # The centre crop keeps the whole of the limiting axis, so this is the scale it needs.
    scale = max(width / w, height / h) * _JPEG_DRAFT_GAP
    if scale < 0.5:
        mode = "L" if channels == 1 else None  # luma straight from YCbCr: less to decode
        im.draft(mode, (math.ceil(w * scale), math.ceil(h * scale)))


def _working_mode(im: Image.Image, channels: int) -> tuple[Image.Image, float]:
    """Convert to L, LA, RGB or RGBA (8-bit) or F (wide grey), with the value meaning white."""
    if im.mode in _WIDE_GREY_MODES and "transparency" not in im.info:
        return im.convert("F"), 65535.0
    if im.mode == "F":
        return im, 255.0  # Pillow's own convention for F, as in its F -> L conversion
    if im.mode in _WIDE_GREY_MODES:
        # 16-bit grey with one transparent value (PNG tRNS), which no Pillow conversion
        # honours: build the alpha here, and let it go through 8 bits as it is so rare.
        values = np.asarray(im)  # (H, W)
        grey = np.rint(np.clip(values, 0, 65535) / 257.0).astype(np.uint8)
        alpha = np.where(values == im.info["transparency"], 0, 255).astype(np.uint8)
        im = Image.fromarray(np.stack([grey, alpha], axis=-1))  # LA
    has_alpha = im.mode in _ALPHA_MODES or "transparency" in im.info
    target = ("LA" if has_alpha else "L") if channels == 1 else ("RGBA" if has_alpha else "RGB")
    if im.mode == target:
        return im, 255.0
    if "transparency" in im.info:
        # RGBA is the one conversion Pillow applies every kind of transparency in (palette
        # bytes, a single L or RGB value); others can warn or, in some cases, drop it.
        im = im.convert("RGBA")
    elif im.mode not in ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK"):
        im = im.convert("RGBA" if has_alpha else "RGB")
    return (im if im.mode == target else im.convert(target)), 255.0


def _crop_resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Centre-crop to the target aspect ratio and resize, in one resampling pass."""
    height, width = size
    w, h = im.size
    if (w, h) == (width, height):
        return im
    if w * height > h * width:  # wider than the target: trim the sides
        crop = h * width / height
        box = ((w - crop) / 2, 0.0, (w + crop) / 2, float(h))
    else:  # taller (or the same aspect): trim top and bottom
        crop = w * height / width
        box = (0.0, (h - crop) / 2, float(w), (h + crop) / 2)
    return im.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=_REDUCING_GAP)


def _to_model_array(im: Image.Image, full: float, channels: int, background: float) -> np.ndarray:
    """Image whose white is `full` -> float32 (C, H, W) in [0, 1], alpha on the background."""
    hwc = np.asarray(im, dtype=np.float32)
    if hwc.ndim == 2:
        hwc = hwc[:, :, None]  # (H, W, 1)
    hwc = hwc / full
    if im.mode in ("LA", "RGBA"):
        colour, alpha = hwc[:, :, :-1], hwc[:, :, -1:]  # (H, W, C), (H, W, 1)
        hwc = colour * alpha + background * (1.0 - alpha)
    elif im.mode == "F":
        hwc = np.clip(hwc, 0.0, 1.0)  # Lanczos overshoots at edges; 8-bit modes clip by type
    chw = hwc.transpose(2, 0, 1)  # (C, H, W)
    if chw.shape[0] != channels:  # wide grey on a colour model
        chw = np.broadcast_to(chw, (channels, *chw.shape[1:]))
    return np.ascontiguousarray(chw, dtype=np.float32)


def _unidentified(data: bytes, label: str) -> LatentExplorerError:
    """Why no accepted decoder took the file: damaged if it looks like one of ours, else 415."""
    kind = _sniff(data)
    if kind:
        return _corrupt(kind, label)
    head = data[:64]
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic) or text_head.startswith(magic.lower()):
            return UnsupportedMediaError(
                f"{label}the file is {what}, which is not accepted: upload {ACCEPTED}",
                code="unsupported_format",
            )
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return UnsupportedMediaError(
            f"{label}HEIC/AVIF images are not accepted: upload {ACCEPTED}",
            code="unsupported_format",
        )
    return UnsupportedMediaError(
        f"{label}the file is not an image: upload {ACCEPTED}",
        code="unsupported_format",
    )


def _sniff(data: bytes) -> str | None:
    """The accepted format `data` starts like, if any."""
    for magic, kind in _ACCEPTED_MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _corrupt(kind: str, label: str) -> LatentExplorerError:
    return BadRequestError(f"{label}the {kind} file is truncated or damaged", code="corrupt_image")


def _label(filename: str | None) -> str:
    """'name: ' to start a message with, or ''; the name is the user's, so it is tamed."""
    if not filename:
        return ""
    name = "".join(ch for ch in filename if ch.isprintable())[:80]
    return f"{name}: " if name else ""

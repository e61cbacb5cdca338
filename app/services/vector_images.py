"""Thumbnails for imported embeddings: image files named in a metadata column, or a sprite.

Both end as (N, C, S, S) uint8 the way a ``folder:`` dataset does (models/data/folder.py):
EXIF rotation applied, transparency composited onto black, centre-cropped to a square and
resized with a Lanczos filter; grey when no image shows colour, RGB otherwise.

A sprite is the Embedding Projector's sheet of equal tiles, read row-major (left to right,
then top to bottom) with as many tiles per row as fit in the sheet's width, which is what the
projector does; a sheet made the usual way is ceil(sqrt(N)) tiles on a side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.data.base import check_image_size
from models.data.folder import COLOUR_TOLERANCE, flatten_to_rgb, read_square_rgb
from models.data.imageops import convert_channels
from models.errors import DatasetError


def images_from_paths(
    paths: Sequence[str],
    base: Path,
    where: Callable[[int], str],
    image_size: int,
) -> np.ndarray:
    """(N, C, S, S) uint8 from image files; relative paths are taken from ``base``.

    ``where(i)`` names row ``i``'s place in the metadata file, for the message when its
    file is missing or cannot be decoded.
    """
    check_image_size(image_size)
    pictures = []
    for i, text in enumerate(paths):
        if not text.strip():
            raise DatasetError(f"{where(i)}: no image path (empty value)")
        path = base / text.strip()
        if not path.is_file():
            raise DatasetError(f"{where(i)}: image {path} does not exist")
        picture = read_square_rgb(path, image_size)
        if picture is None:
            raise DatasetError(f"{where(i)}: image {path} cannot be decoded")
        pictures.append(picture)
    return channels_first(np.stack(pictures))


def images_from_sprite(
    sprite: Path, tile: tuple[int, int], n_items: int, image_size: int
) -> np.ndarray:
    """(N, C, S, S) uint8 cut from a sprite sheet of ``tile`` = (width, height) px tiles."""
    check_image_size(image_size)
    width, height = tile
    if width < 1 or height < 1:
        raise DatasetError(f"sprite tile size {width}x{height} px: both sides must be at least 1")
    if not sprite.is_file():
        raise DatasetError(f"{sprite}: sprite image not found")
    try:
        with Image.open(sprite) as opened:
            opened.load()
            sheet = flatten_to_rgb(opened)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{sprite}: cannot be decoded as an image ({exc})") from None
    if sheet.width % width or sheet.height % height:
        raise DatasetError(
            f"{sprite}: {sheet.width}x{sheet.height} px is not a whole number of "
            f"{width}x{height} px tiles (check --sprite-size W H)"
        )
    per_row, rows = sheet.width // width, sheet.height // height
    if per_row * rows < n_items:
        raise DatasetError(
            f"{sprite}: {sheet.width}x{sheet.height} px holds {per_row * rows} tiles of "
            f"{width}x{height} px, too few for {n_items} vectors "
            f"(the usual sheet for them is {_side(n_items)}x{_side(n_items)} tiles)"
        )
    pictures = []
    for i in range(n_items):
        row, column = divmod(i, per_row)
        box = (column * width, row * height, (column + 1) * width, (row + 1) * height)
        square = ImageOps.fit(sheet.crop(box), (image_size, image_size), Image.Resampling.LANCZOS)
        pictures.append(np.asarray(square, dtype=np.uint8))  # (S, S, 3)
    return channels_first(np.stack(pictures))


def channels_first(rgb: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, C, S, S): one channel unless some pixel shows colour."""
    stack = rgb.transpose(0, 3, 1, 2)  # (N, 3, S, S)
    spread = stack.max(axis=1).astype(np.int16) - stack.min(axis=1)  # (N, S, S)
    channels = 3 if int(spread.max()) > COLOUR_TOLERANCE else 1
    return np.ascontiguousarray(convert_channels(stack, channels))


def _side(n_items: int) -> int:
    return int(np.ceil(np.sqrt(n_items)))

"""A folder of your own images: ``folder:PATH``.

Layout decides labels:

- ``PATH/<class>/<image>`` (any depth below the class folder): labelled, one class per
  top-level subfolder, class names sorted; metadata ``class`` and ``file``.
- ``PATH/<image>``: unlabelled; metadata ``file`` only.
- Both at once is refused rather than guessed at.

Files ending in png, jpg, jpeg, gif, webp or bmp (any case) are read; other files and hidden
entries (``.DS_Store``, ``.ipynb_checkpoints``) are ignored. Each image has its EXIF orientation
applied, transparency composited onto black, is centre-cropped to a square and resized with a
Lanczos filter. Files that cannot be decoded are skipped and counted in ``skipped``.

Channels: with ``channels`` unset, the set is RGB if any image shows colour (some pixel whose
channels differ by more than ``COLOUR_TOLERANCE`` levels, so JPEG noise on a grey scan does not
count) and grey otherwise; grey images in an RGB set are repeated across the three channels.

Metadata: a ``metadata.csv`` in the folder's root adds its columns to the items it names
(models/data/csvmeta.py has the format). ``list_folder`` reads the files, classes and CSV
without decoding an image, so a large folder can be decoded in batches (app/index/stream.py)
into exactly the items ``load_folder`` gives.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.data.base import ImageSet, check_image_size
from models.data.csvmeta import CSV_NAME, CsvMetadata, read_metadata_csv
from models.data.imageops import check_subset_size, convert_channels
from models.data.items import ItemColumns
from models.errors import DatasetError

log = logging.getLogger(__name__)

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})
COLOUR_TOLERANCE = 8  # grey levels a channel may differ by and still count as grey


@dataclass(frozen=True)
class FolderListing:
    """What a folder holds, known without decoding an image."""

    root: Path
    names: tuple[str, ...]  # image paths relative to root, posix, sorted: the item names
    classes: tuple[str, ...]  # sorted class folder names; () for a flat folder
    csv: CsvMetadata | None  # root/metadata.csv, when there is one

    def path_of(self, i: int) -> Path:
        return self.root / self.names[i]


def list_folder(path: str | Path) -> FolderListing:
    """List the images under ``path``, their classes and the CSV metadata (checked)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root} is not a directory")
    found = _image_names(root)
    if not found:
        raise DatasetError(
            f"no images in {root}: expected files ending in {', '.join(sorted(EXTENSIONS))}"
        )
    classes = _class_names(root, found)
    names = tuple(found)
    del found
    csv_path = root / CSV_NAME
    csv = read_metadata_csv(csv_path, frozenset(names)) if csv_path.is_file() else None
    return FolderListing(root=root, names=names, classes=classes, csv=csv)


def decode_order(n_files: int, size: int | None, seed: int) -> np.ndarray:
    """The order files are decoded in: sorted, or for a ``size`` subset a seeded permutation
    (decoding stops once ``size`` are read, so unreadable files are replaced by the next)."""
    if size is None:
        return np.arange(n_files)
    return np.random.default_rng(seed).permutation(n_files)


def check_decoded(listing: FolderListing, readable: int, skipped: int, size: int | None) -> None:
    """Refuse a folder with no readable image, or fewer than the ``size`` asked for."""
    if readable == 0:
        raise DatasetError(
            f"no readable images in {listing.root}: all {skipped} image files failed to decode"
        )
    if size is not None and readable < size:
        raise DatasetError(
            f"{listing.root} has {readable} readable images; asked for {size}: "
            f"choose at most {readable}"
        )


def item_columns(listing: FolderListing, picked: np.ndarray) -> ItemColumns:
    """Every column but the pixels of the items ``picked`` (indices into ``listing.names``):
    names are the relative paths, labels index the listing's classes (None when flat), and
    metadata holds "class" (when labelled), "file", then the CSV's columns."""
    chosen = [listing.names[i] for i in picked]  # the listing's strings, not copies
    relative = np.array(chosen, dtype=np.str_)
    metadata: dict[str, np.ndarray] = {}
    labels: np.ndarray | None = None
    if listing.classes:
        class_of = np.array([name.split("/", 1)[0] for name in chosen], dtype=np.str_)
        labels = np.searchsorted(np.array(listing.classes, dtype=np.str_), class_of)
        labels = labels.astype(np.int64)
        metadata["class"] = class_of
    metadata["file"] = relative
    if listing.csv is not None:
        columns, missing = listing.csv.for_items(chosen)
        if missing:
            log.warning(
                "%s has no row for %d of the %d images: they get empty text and NaN numbers "
                "in its columns",
                listing.csv.path,
                missing,
                len(relative),
            )
        metadata |= columns
    return ItemColumns(
        item_names=relative,
        labels=labels,
        label_field="class" if listing.classes else None,
        label_names=listing.classes,
        metadata=metadata,
    )


def load_folder(
    path: str | Path,
    *,
    image_size: int,
    channels: int | None = None,
    size: int | None = None,
    seed: int = 0,
) -> ImageSet:
    """Load the images under ``path`` as (N, C, S, S) uint8, sorted by relative path.

    ``size`` takes a seeded random subset of the readable images (kept in sorted order); the
    files are decoded in a seeded order until ``size`` have been read, so a small subset of a
    big folder does not decode the whole folder.
    """
    check_image_size(image_size)
    check_subset_size(size)
    if channels is not None and channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {channels}")
    listing = list_folder(path)

    chosen: list[int] = []
    pictures: list[np.ndarray] = []
    skipped = 0
    for i in decode_order(len(listing.names), size, seed):
        picture = read_square_rgb(listing.path_of(i), image_size)
        if picture is None:
            skipped += 1
            continue
        chosen.append(int(i))
        pictures.append(picture)
        if size is not None and len(chosen) == size:
            break
    check_decoded(listing, len(chosen), skipped, size)

    keep = np.argsort(chosen)  # back to sorted path order
    picked = np.asarray(chosen)[keep]
    rgb = np.stack([pictures[k] for k in keep]).transpose(0, 3, 1, 2)  # (N, 3, S, S)
    if channels is None:
        spread = rgb.max(axis=1).astype(np.int16) - rgb.min(axis=1)  # (N, S, S)
        channels = 3 if int(spread.max()) > COLOUR_TOLERANCE else 1
    images = convert_channels(rgb, channels)

    items = replace(item_columns(listing, picked), images=images)
    return ImageSet(name=f"folder:{path}", items=items, skipped=skipped)


def _image_names(root: Path) -> list[str]:
    """Image files under root as sorted relative posix paths, skipping hidden files and
    folders. Strings, not Path objects: for 100,000 files a list of Paths held ~50 MB."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):  # like rglob: symlinked folders are not entered
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # hidden folders: not entered
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in EXTENSIONS:
                continue
            if os.path.isfile(os.path.join(folder, name)):  # follows a symlinked file
                found.append(prefix + name)
    found.sort()
    return found


def _class_names(root: Path, names: list[str]) -> tuple[str, ...]:
    """Sorted class folder names, or () for a flat folder; refuses a mix of the two."""
    loose = sum(1 for name in names if "/" not in name)
    if not loose:
        return tuple(sorted({name.split("/", 1)[0] for name in names}))
    if loose < len(names):
        raise DatasetError(
            f"{root} mixes {loose} images at the top with {len(names) - loose} in "
            "subfolders: put every image in a class subfolder (labelled) or none (unlabelled)"
        )
    return ()


def read_square_rgb(path: Path, image_size: int) -> np.ndarray | None:
    """(S, S, 3) uint8 of one image file, or None when it cannot be decoded."""
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so a truncated file fails here and is skipped
            rgb = flatten_to_rgb(ImageOps.exif_transpose(opened))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # OSError covers unidentified and truncated files; the others are what PIL's plugins
        # raise on malformed headers.
        return None
    square = ImageOps.fit(rgb, (image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8)


def flatten_to_rgb(picture: Image.Image) -> Image.Image:
    """RGB version of any PIL mode, transparency composited onto black."""
    if picture.mode.startswith("I;16"):
        # 16-bit grey: keep the top byte; PIL's own "L" conversion would clip at 255 instead.
        # (H, W) uint16 -> uint8
        picture = Image.fromarray((np.asarray(picture, dtype=np.uint16) >> 8).astype(np.uint8))
    has_alpha = picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        picture.mode == "P" and "transparency" in picture.info
    )
    if has_alpha:
        rgba = picture.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return picture.convert("RGB")

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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.data.base import ImageSet, check_image_size
from models.data.imageops import check_subset_size, convert_channels
from models.errors import DatasetError

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})
COLOUR_TOLERANCE = 8  # grey levels a channel may differ by and still count as grey


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
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root} is not a directory")

    files = _image_files(root)
    if not files:
        raise DatasetError(
            f"no images in {root}: expected files ending in {', '.join(sorted(EXTENSIONS))}"
        )
    classes = _class_names(root, files)

    order = np.arange(len(files))
    if size is not None:
        order = np.random.default_rng(seed).permutation(len(files))
    chosen: list[int] = []
    pictures: list[np.ndarray] = []
    skipped = 0
    for i in order:
        picture = _read_square_rgb(files[i], image_size)
        if picture is None:
            skipped += 1
            continue
        chosen.append(int(i))
        pictures.append(picture)
        if size is not None and len(chosen) == size:
            break

    if not pictures:
        raise DatasetError(
            f"no readable images in {root}: all {skipped} image files failed to decode"
        )
    if size is not None and len(chosen) < size:
        raise DatasetError(
            f"{root} has {len(chosen)} readable images; asked for {size}: "
            f"choose at most {len(chosen)}"
        )

    keep = np.argsort(chosen)  # back to sorted path order
    picked = [files[chosen[k]] for k in keep]
    rgb = np.stack([pictures[k] for k in keep]).transpose(0, 3, 1, 2)  # (N, 3, S, S)
    if channels is None:
        spread = rgb.max(axis=1).astype(np.int16) - rgb.min(axis=1)  # (N, S, S)
        channels = 3 if int(spread.max()) > COLOUR_TOLERANCE else 1
    images = convert_channels(rgb, channels)

    relative = np.array([f.relative_to(root).as_posix() for f in picked], dtype=np.str_)
    metadata = {"file": relative}
    labels: np.ndarray | None = None
    if classes:
        class_of = np.array([f.relative_to(root).parts[0] for f in picked], dtype=np.str_)
        labels = np.searchsorted(np.array(classes, dtype=np.str_), class_of).astype(np.int64)
        metadata = {"class": class_of, "file": relative}
    return ImageSet(
        name=f"folder:{path}",
        images=images,
        labels=labels,
        label_names=classes,
        label_field="class" if classes else None,
        metadata=metadata,
        item_names=relative,
        skipped=skipped,
    )


def _image_files(root: Path) -> list[Path]:
    """Image files under root, sorted by relative path, skipping hidden files and folders."""
    found = []
    for candidate in root.rglob("*"):
        relative = candidate.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if candidate.suffix.lower() in EXTENSIONS and candidate.is_file():
            found.append(candidate)
    return sorted(found, key=lambda f: f.relative_to(root).as_posix())


def _class_names(root: Path, files: list[Path]) -> tuple[str, ...]:
    """Sorted class folder names, or () for a flat folder; refuses a mix of the two."""
    loose = [f for f in files if f.parent == root]
    if not loose:
        return tuple(sorted({f.relative_to(root).parts[0] for f in files}))
    if len(loose) < len(files):
        raise DatasetError(
            f"{root} mixes {len(loose)} images at the top with {len(files) - len(loose)} in "
            "subfolders: put every image in a class subfolder (labelled) or none (unlabelled)"
        )
    return ()


def _read_square_rgb(path: Path, image_size: int) -> np.ndarray | None:
    """(S, S, 3) uint8 of one image file, or None when it cannot be decoded."""
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so a truncated file fails here and is skipped
            rgb = _flatten_to_rgb(ImageOps.exif_transpose(opened))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # OSError covers unidentified and truncated files; the others are what PIL's plugins
        # raise on malformed headers.
        return None
    square = ImageOps.fit(rgb, (image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8)


def _flatten_to_rgb(picture: Image.Image) -> Image.Image:
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

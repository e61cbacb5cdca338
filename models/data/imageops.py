"""Pixel helpers shared by the dataset loaders: resizing stacks, channel conversion, subsets."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.errors import DatasetError

# ITU-R 601 luma, the weights PIL uses for "RGB" -> "L", so a folder converted by PIL and a
# stack converted here give the same grey.
_LUMA = np.array([0.299, 0.587, 0.114])


def resize_stack(
    images: np.ndarray,
    size: int,
    resample: Image.Resampling = Image.Resampling.BILINEAR,
) -> np.ndarray:
    """Resize (N, H, W) grey images with values in 0..255 (any numeric dtype) to uint8.

    Returns (N, size, size) uint8. PIL is used rather than a plain interpolation because its
    filters widen their support when shrinking, so downsizing is antialiased as well as upsizing
    being smooth.
    """
    n, height, width = images.shape
    if (height, width) == (size, size):
        return np.clip(np.rint(images), 0, 255).astype(np.uint8)
    out = np.empty((n, size, size), dtype=np.uint8)
    for i in range(n):
        # Resize in float ("F" mode) so values are rounded once, at the end.
        resized = Image.fromarray(images[i].astype(np.float32)).resize((size, size), resample)
        out[i] = np.clip(np.rint(np.asarray(resized)), 0, 255)
    return out


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """Convert (N, C, H, W) uint8 images between grey (C=1) and RGB (C=3)."""
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {channels}")
    current = images.shape[1]
    if current == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=1)
    grey = np.einsum("nchw,c->nhw", images.astype(np.float64), _LUMA)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, None]


def check_subset_size(size: int | None) -> None:
    """Reject a requested item count that is not a positive number."""
    if size is not None and size <= 0:
        raise DatasetError(f"dataset size must be a positive number of items, not {size}")


def subset_indices(total: int, size: int | None, seed: int, name: str) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``size`` out of ``total`` items.

    Sorted so a subset keeps the source order; ``size=None`` means every item.
    """
    check_subset_size(size)
    if size is None or size == total:
        return np.arange(total)
    if size > total:
        raise DatasetError(f"{name} has {total} items; asked for {size}: choose at most {total}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=size, replace=False))

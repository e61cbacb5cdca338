"""scikit-learn's bundled handwritten digits: 1,797 real 8x8 images, no download needed.

The source pixels hold ink counts 0..16 (each pixel counts set bits in a 4x4 block of the
original 32x32 bitmap); they are scaled to 0..255 and upsampled bilinearly, so the images are
smooth blobs rather than blocky 8x8 mosaics.
"""

from __future__ import annotations

import numpy as np

from models.data.base import ImageSet, check_image_size
from models.data.imageops import resize_stack, subset_indices
from models.data.items import ItemColumns

NAME = "digits"
LABEL_NAMES = tuple(str(d) for d in range(10))
_MAX_INK = 16.0  # the largest value in the source images


def load_digits_set(*, image_size: int, size: int | None = None, seed: int = 0) -> ImageSet:
    """Load the digits as (N, 1, image_size, image_size) uint8 grey images labelled 0..9.

    ``size`` takes a seeded random subset (kept in source order); None keeps all 1,797.
    """
    from sklearn.datasets import load_digits  # heavy import, only when this dataset is used

    check_image_size(image_size)
    bunch = load_digits()
    source = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), values 0..16
    targets = np.asarray(bunch.target, dtype=np.int64)

    index = subset_indices(len(source), size, seed, NAME)
    images = resize_stack(source[index] * (255.0 / _MAX_INK), image_size)  # (N, S, S)
    labels = targets[index]
    items = ItemColumns(
        item_names=np.array([f"digit-{i:04d}" for i in index], dtype=np.str_),
        labels=labels,
        label_field="digit",
        label_names=LABEL_NAMES,
        metadata={"digit": np.array(LABEL_NAMES, dtype=np.str_)[labels]},
        images=images[:, None],  # (N, 1, S, S)
    )
    return ImageSet(name=NAME, items=items)

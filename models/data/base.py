"""The one shape every dataset takes: uint8 images plus per-item metadata columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.errors import DatasetError

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 64


@dataclass(frozen=True)
class ImageSet:
    """A dataset held in memory.

    images:      (N, C, H, W) uint8, C in {1, 3}
    labels:      (N,) int64 class indices into ``label_names``, or None when unlabelled
    label_field: the metadata column the labels come from ("digit", "shape", "class"), or None
    metadata:    per-item columns, each an (N,) array: float64 for numeric factors,
                 unicode (``np.str_``) for categorical ones; the label column is included
    item_names:  (N,) unicode, a human name per item ("digits/0123", "cats/tom.png")
    """

    name: str
    images: np.ndarray
    labels: np.ndarray | None
    label_names: tuple[str, ...]
    label_field: str | None
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    item_names: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.str_))
    skipped: int = 0  # files that could not be read (corrupt images in a folder)

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise DatasetError(f"{self.name}: images must be (N, C, H, W) uint8")
        if self.labels is not None and self.labels.shape != (n,):
            raise DatasetError(f"{self.name}: {len(self.labels)} labels for {n} images")
        for key, column in self.metadata.items():
            if column.shape != (n,):
                raise DatasetError(
                    f"{self.name}: metadata column {key!r} has {len(column)} rows for {n} images"
                )
        if len(self.item_names) != n:
            raise DatasetError(f"{self.name}: {len(self.item_names)} item names for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width)."""
        _, c, h, w = self.images.shape
        return (int(c), int(h), int(w))


def check_image_size(size: int) -> int:
    """Validate a square image size in pixels; returns it."""
    if not MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE:
        raise DatasetError(
            f"image size {size} px is out of range: allowed {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} px"
        )
    return size

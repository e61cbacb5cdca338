"""The one shape every dataset takes: uint8 images plus per-item metadata columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data.items import ItemColumns
from models.errors import DatasetError

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 64


@dataclass(frozen=True)
class ImageSet:
    """A dataset held in memory: its items' columns (``ItemColumns``), images always present.

    ``skipped`` counts files that could not be read (corrupt images in a folder).
    """

    name: str
    items: ItemColumns
    skipped: int = 0

    def __post_init__(self) -> None:
        if self.items.images is None:
            raise DatasetError(f"{self.name}: a dataset needs its images")
        self.items.check(self.name)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def images(self) -> np.ndarray:
        """(N, C, H, W) uint8, C in {1, 3}."""
        assert self.items.images is not None  # checked in __post_init__
        return self.items.images

    @property
    def labels(self) -> np.ndarray | None:
        return self.items.labels

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.items.label_names

    @property
    def label_field(self) -> str | None:
        return self.items.label_field

    @property
    def metadata(self) -> dict[str, np.ndarray]:
        return self.items.metadata

    @property
    def item_names(self) -> np.ndarray:
        return self.items.item_names

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

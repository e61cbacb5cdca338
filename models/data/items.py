"""The columns every collection of items carries, from a loaded dataset to a saved index."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from models.errors import DatasetError


@dataclass(frozen=True)
class ItemColumns:
    """One row per item: what it is called, its label, metadata, pixels and, once a model has
    seen it, its latent and reconstruction error. Every column has N rows.

    item_names:  (N,) unicode, a human name per item ("digit-0123", "cats/tom.png")
    labels:      (N,) int64 class indices into ``label_names``, or None when unlabelled
    label_field: the metadata column the labels come from ("digit", "shape", "class"), or None
    label_names: the class names ``labels`` index
    metadata:    per-item columns: float64 for numeric factors, unicode (``np.str_``) for
                 categorical ones; the label column is included
    images:      (N, C, H, W) uint8, C in {1, 3}; None for embeddings imported without images
    latents:     (N, D) float32 once encoded, else None
    errors:      (N,) float32 reconstruction MSE; None before encoding or without a decoder
    """

    item_names: np.ndarray
    labels: np.ndarray | None = None
    label_field: str | None = None
    label_names: tuple[str, ...] = ()
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    images: np.ndarray | None = None
    latents: np.ndarray | None = None
    errors: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.item_names)

    def check(self, what: str) -> None:
        """Raise DatasetError, naming ``what``, unless every column has one row per item."""
        n = len(self)
        rows: dict[str, np.ndarray | None] = {
            "images": self.images,
            "labels": self.labels,
            "latents": self.latents,
            "errors": self.errors,
        }
        rows |= {f"metadata column {key!r}": column for key, column in self.metadata.items()}
        for name, column in rows.items():
            if column is not None and len(column) != n:
                raise DatasetError(f"{what}: {name} has {len(column)} rows for {n} items")
        if self.images is not None and (self.images.ndim != 4 or self.images.dtype != np.uint8):
            raise DatasetError(f"{what}: images must be (N, C, H, W) uint8")

    def encoded(self, latents: np.ndarray, errors: np.ndarray | None) -> ItemColumns:
        """These items with the latents (and errors) a model gave them."""
        return replace(self, latents=latents, errors=errors)

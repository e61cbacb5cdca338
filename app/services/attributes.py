"""Attribute vectors: directions in latent space that mean something.

For a categorical field (the label, a shape, a colour) and each of its values: centroid of the
items that have the value minus centroid of those that do not ("digit=3"), and for the label
field every ordered class pair ("digit:3-7" = centroid(3) - centroid(7)). For a numeric factor
(scale, x, rotation...): centroid of the top third minus centroid of the bottom third
("scale:high-low", i.e. "bigger"). Users add their own from two groups of items.

Each vector comes with an effect size: Cohen's d of the two groups projected on its direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.index.store import LatentIndex
from models.errors import InvalidInputError, NotFoundError

MAX_CATEGORIES = 50  # a field with more distinct values (file names...) is not an attribute
MAX_PAIR_CLASSES = 20  # pairwise differences for up to 20 classes (380 vectors)


@dataclass(frozen=True)
class Attribute:
    id: str
    name: str
    kind: str  # "value" | "pair" | "factor" | "custom"
    field: str | None
    vector: np.ndarray  # (D,) float32
    effect_size: float
    n_a: int
    n_b: int


def effect_size(latents: np.ndarray, a: np.ndarray, b: np.ndarray, vector: np.ndarray) -> float:
    """Cohen's d of groups ``a`` and ``b`` (boolean or index arrays) along ``vector``."""
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        return 0.0
    u = vector / norm
    pa, pb = latents[a] @ u, latents[b] @ u
    pooled = np.sqrt((pa.var() + pb.var()) / 2.0)
    return float((pa.mean() - pb.mean()) / pooled) if pooled > 0 else 0.0


def _make(
    index: LatentIndex,
    attribute_id: str,
    name: str,
    kind: str,
    field: str | None,
    a: np.ndarray,
    b: np.ndarray,
) -> Attribute:
    z = index.latents
    vector = (z[a].mean(0, dtype=np.float64) - z[b].mean(0, dtype=np.float64)).astype(np.float32)
    n_a = int(a.sum()) if a.dtype == bool else len(a)
    n_b = int(b.sum()) if b.dtype == bool else len(b)
    return Attribute(
        attribute_id, name, kind, field, vector, effect_size(z, a, b, vector), n_a, n_b
    )


def derive_attributes(index: LatentIndex) -> list[Attribute]:
    """Every attribute vector the metadata defines.

    Missing values (empty text, NaN: images without a row in a folder's metadata.csv) belong to
    neither side: "smiling=yes" is the smiling items against the other known values.
    """
    out: list[Attribute] = []
    for field, column in index.metadata.items():
        if column.dtype.kind in "US":
            known = column != ""
            values = np.unique(column[known])
            if not 2 <= len(values) <= MAX_CATEGORIES:
                continue
            masks = {str(v): column == v for v in values}
            for value, mask in masks.items():
                out.append(
                    _make(
                        index,
                        f"{field}={value}",
                        f"{field} {value} (vs the rest)",
                        "value",
                        field,
                        mask,
                        known & ~mask,
                    )
                )
            if field == index.label_field and len(values) <= MAX_PAIR_CLASSES:
                for va, ma in masks.items():
                    for vb, mb in masks.items():
                        if va != vb:
                            out.append(
                                _make(
                                    index,
                                    f"{field}:{va}-{vb}",
                                    f"{field} {va} minus {field} {vb}",
                                    "pair",
                                    field,
                                    ma,
                                    mb,
                                )
                            )
        elif column.dtype.kind in "fiu" and np.isfinite(column).sum() >= 3:
            finite = np.isfinite(column)
            low, high = np.quantile(column[finite], [1 / 3, 2 / 3])
            a, b = finite & (column >= high), finite & (column <= low)
            if low < high and a.any() and b.any():
                out.append(
                    _make(
                        index,
                        f"{field}:high-low",
                        f"{field}: high minus low",
                        "factor",
                        field,
                        a,
                        b,
                    )
                )
    return out


def custom_attribute(
    index: LatentIndex, number: int, name: str, group_a: list[int], group_b: list[int]
) -> Attribute:
    """centroid(A) - centroid(B) for two groups of item ids (e.g. two lasso selections)."""
    n = len(index)
    for label, group in (("group_a", group_a), ("group_b", group_b)):
        if not group:
            raise InvalidInputError(f"{label} is empty: select at least one item")
        bad = [i for i in group if not 0 <= i < n]
        if bad:
            raise NotFoundError(
                f"{label} has unknown item ids {bad[:5]}: ids run from 0 to {n - 1}",
                code="unknown_item",
            )
    a = np.unique(np.asarray(group_a, dtype=np.int64))
    b = np.unique(np.asarray(group_b, dtype=np.int64))
    label = name.strip() or f"custom {number}"
    return _make(index, f"custom-{number}", label, "custom", None, a, b)

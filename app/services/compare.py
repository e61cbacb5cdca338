"""Two models side by side: do they index the same items, and how do their figures compare?

Two models can be compared item by item when they index the same dataset: the same number of
items and the same item names in the same order, so that item id i is one image in both. The
comparison table lists each model's quality figures, None where a model has no such figure
(no decoder: no reconstruction error; no labels: no kNN accuracy; a projection it lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.index.projection import PROJECTIONS
from app.index.store import LatentIndex
from app.services.loaded import LoadedModel, ModelStore
from models.errors import ConflictError


@dataclass
class Figure:
    """One row of the comparison table."""

    key: str  # the quality figure's path, e.g. "trustworthiness.umap"
    label: str
    a: float | None
    b: float | None
    better: str  # "higher" or "lower": which way is better


@dataclass
class Comparison:
    a: str
    b: str
    n_items: int
    aligned: bool
    figures: list[Figure]


# The quality figures compared (app/index/fitting.py writes them), in table order: a dotted
# key is a figure inside a group (``denoising.psnr``). "{split}" in a label is replaced by
# the split the models' figures are scored on (app/index/objective_quality.py).
SCALAR_FIGURES = (
    ("reconstruction_mse", "reconstruction error (MSE)", "lower"),
    ("knn_accuracy", "kNN accuracy (k=5)", "higher"),
)
# Rows no model of the two has a figure for are left out of the table.
OPTIONAL_FIGURES = (
    ("split_knn_accuracy", "kNN accuracy (k=5), {split}", "higher"),
    ("probe_accuracy", "linear-probe accuracy, {split}", "higher"),
    ("alignment", "alignment of two augmented views", "lower"),
    ("uniformity", "uniformity (t=2)", "lower"),
    ("latent_std_ratio", "latent std ratio (smallest / largest)", "higher"),
    ("reconstruction_psnr", "reconstruction PSNR (dB)", "higher"),
    ("denoising.psnr", "denoising PSNR (dB), {noise}", "higher"),
    ("denoising.input_psnr", "PSNR of the corrupted input (dB), {noise}", "higher"),
    ("shape_factor_r2.x", "shapes: R² of x, {split}", "higher"),
    ("shape_factor_r2.y", "shapes: R² of y, {split}", "higher"),
    ("shape_factor_r2.scale", "shapes: R² of scale, {split}", "higher"),
    ("shape_factor_r2.rotation", "shapes: R² of rotation (symmetry-aware), {split}", "higher"),
    ("shape_accuracy", "shapes: shape accuracy (kNN, k=5), {split}", "higher"),
)
PER_PROJECTION = (
    ("trustworthiness", "trustworthiness", "higher"),
    ("faithfulness", "faithfulness (k=10)", "higher"),
)


def compare_models(store: ModelStore, a: str, b: str) -> Comparison:
    """GET /api/compare: models ``a`` and ``b`` side by side; 409 unless they align."""
    ma, mb = store.get(a), store.get(b)
    return compare(ma.name, ma.index, mb.name, mb.index)


def comparable_models(store: ModelStore, m: LoadedModel) -> list[str]:
    """The other loaded models on the same items as ``m``."""
    others = {name: other.index for name, other in store.models.items()}
    return comparable(m.name, m.index, others)


def check_aligned(a: str, index_a: LatentIndex, b: str, index_b: LatentIndex) -> None:
    """Raise ``not_comparable`` (409) naming the first difference, unless the two indexes hold
    the same items in the same order."""
    n_a, n_b = len(index_a), len(index_b)
    if n_a != n_b:
        raise ConflictError(
            f"models {a!r} and {b!r} index different datasets: {a!r} has {n_a} items and "
            f"{b!r} has {n_b}; models can be compared only on the same items in the same order",
            code="not_comparable",
        )
    names_a, names_b = index_a.item_names, index_b.item_names
    differ = np.flatnonzero(names_a != names_b)
    if differ.size:
        i = int(differ[0])
        raise ConflictError(
            f"models {a!r} and {b!r} index different datasets: item {i} is "
            f"{_short(names_a[i])!r} in {a!r} but {_short(names_b[i])!r} in {b!r} "
            f"({differ.size} of {n_a} item names differ); models can be compared only on the "
            "same items in the same order",
            code="not_comparable",
        )


def comparable(name: str, index: LatentIndex, others: dict[str, LatentIndex]) -> list[str]:
    """The models in ``others`` (other than ``name``) that align with ``index``, in order."""
    found = []
    for other, other_index in others.items():
        if other == name:
            continue
        try:
            check_aligned(name, index, other, other_index)
        except ConflictError:
            continue
        found.append(other)
    return found


def compare(a: str, index_a: LatentIndex, b: str, index_b: LatentIndex) -> Comparison:
    """The comparison of two aligned models (``check_aligned`` raises for others)."""
    table = compare_table([(a, index_a), (b, index_b)])
    figures = [Figure(r.key, r.label, r.values[0], r.values[1], r.better) for r in table.rows]
    return Comparison(a=a, b=b, n_items=table.n_items, aligned=True, figures=figures)


@dataclass
class Row:
    """One measure of the many-model table: its value for each model, in the models' order."""

    key: str
    label: str
    values: list[float | None]
    better: str


@dataclass
class Table:
    models: list[str]
    n_items: int
    rows: list[Row]


def compare_models_table(store: ModelStore, names: list[str]) -> Table:
    """GET /api/compare/table: every measure of each named model; 409 unless all align."""
    loaded = [store.get(name) for name in names]
    return compare_table([(m.name, m.index) for m in loaded])


def compare_table(models: list[tuple[str, LatentIndex]]) -> Table:
    """Every quality figure of each model (None where it has none): the models must index
    the same items, which is checked against the first (the same names in the same order is
    transitive); a row no model has a figure for is left out, except the scalar ones."""
    first, first_index = models[0]
    for name, index in models[1:]:
        check_aligned(first, first_index, name, index)
    names = [name for name, _ in models]
    qualities = [index.quality for _, index in models]
    rows = [
        Row(key, label, [_number(q.get(key)) for q in qualities], better)
        for key, label, better in SCALAR_FIGURES
    ]
    for key, label, better in OPTIONAL_FIGURES:
        values = [_number(_path(q, key)) for q in qualities]
        if any(v is not None for v in values):
            rows.append(Row(key, _fill(label, names, qualities), values, better))
    projections: list[str] = []
    for _, index in models:
        projections += [p for p in index.projections if p not in projections]
    for key, label, better in PER_PROJECTION:
        for projection in projections:
            rows.append(
                Row(
                    f"{key}.{projection}",
                    f"{label}, {projection_label(projection)}",
                    [_number(_get(q, key, projection)) for q in qualities],
                    better,
                )
            )
    return Table(names, len(first_index), rows)


def _path(quality: dict[str, Any], key: str) -> Any:
    """The figure at a dotted ``key`` (``denoising.psnr``), None where there is none."""
    value: Any = quality
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fill(label: str, names: list[str], qualities: list[dict[str, Any]]) -> str:
    """``label`` with {split} and {noise} named: one value when the models share it, else each
    value with the models it is for (``held-out for m1, m2; all items, cross-validated for
    m3``), so a row of a many-model table says which model measured how."""
    for name, key in (("split", "split"), ("noise", "denoising.noise")):
        by_value: dict[str, list[str]] = {}
        for model, quality in zip(names, qualities, strict=True):
            value = _path(quality, key)
            if value is not None:
                by_value.setdefault(str(value), []).append(model)
        if len(by_value) == 1:
            text = next(iter(by_value))
        else:
            text = "; ".join(f"{v} for {', '.join(models)}" for v, models in by_value.items())
        label = label.replace("{" + name + "}", text)
    return label.rstrip(", ")


def _get(quality: dict[str, Any], key: str, projection: str) -> Any:
    per = quality.get(key)
    return per.get(projection) if isinstance(per, dict) else None


def _number(value: Any) -> float | None:
    """A finite figure, or None (missing, or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _short(name: object) -> str:
    text = str(name)
    return text if len(text) <= 60 else text[:57] + "..."


def projection_label(name: str) -> str:
    """How the page names a projection (its registry label; the name itself if unknown)."""
    cls = PROJECTIONS.get(name)
    return cls.label if cls is not None else name

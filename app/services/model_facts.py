"""What the server says about itself and its models: health, and each model's description."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from app.services.explorer import Explorer
from app.services.loaded import LoadedModel


@dataclass
class Health:
    status: str  # "ok" once every model is loaded, "starting" before
    device: str
    models: list[str]
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelFacts:
    """GET /api/models/{m}: what the page needs to know about a model before its points."""

    name: str
    architecture: str
    dataset: dict[str, Any]
    latent_dim: int
    image_shape: tuple[int, int, int]
    n_items: int
    quality: dict[str, Any]
    projections: list[str]
    default_projection: str
    label_field: str | None
    label_names: list[str]
    metadata_fields: dict[str, str]  # field -> "category" | "number"
    latent_std: list[float]
    can_encode: bool
    can_decode: bool
    decoder_source: str  # "own" | "fitted" | "none"
    fitted_decoder: dict[str, Any] | None  # the fitted decoder's figures, when it has one
    has_images: bool
    normal_classes: list[str] | None = None  # trained on these classes only (anomaly view)


def health(explorer: Explorer | None) -> Health:
    """``explorer`` is None until the lifespan has loaded every model."""
    if explorer is None:
        return Health(status="starting", device="", models=[])
    store = explorer.store
    return Health(
        status="ok", device=explorer.device, models=list(store.models), failed=store.failed
    )


def describe_model(m: LoadedModel) -> ModelFacts:
    index = m.index
    return ModelFacts(
        name=m.name,
        architecture=m.info.architecture,
        dataset=public_dataset(m.info.dataset),
        latent_dim=m.latent_dim,
        image_shape=m.image_shape,
        n_items=len(index),
        quality=index.quality,
        projections=list(index.projections),
        default_projection=m.default_projection,
        label_field=index.label_field,
        label_names=list(index.label_names),
        metadata_fields={
            k: "category" if v.dtype.kind in "US" else "number" for k, v in index.metadata.items()
        },
        latent_std=m.latent_std().tolist(),
        can_encode=m.can_encode,
        can_decode=m.can_decode,
        decoder_source=m.decoder_source,
        fitted_decoder=fitted_decoder_facts(m.info.fitted_decoder),
        has_images=m.has_images,
        normal_classes=normal_class_names(m),
    )


def normal_class_names(m: LoadedModel) -> list[str] | None:
    """The classes a model trained on normal classes only was trained on, by name; else None."""
    if m.index.anomaly is None:
        return None
    names = m.index.label_names
    return [names[c] if c < len(names) else str(c) for c in m.index.anomaly.normal_classes]


def fitted_decoder_facts(section: dict[str, Any]) -> dict[str, Any] | None:
    """What clients see of a fitted decoder: its held-out reconstruction figures (how much
    the latent retains), the epochs it ran and its seed; None without one."""
    if not section:
        return None
    training = section.get("training", {})
    return {
        "heldout": section.get("heldout", {}),
        "epochs_run": section.get("epochs_run"),
        "seed": training.get("seed"),
    }


def public_dataset(dataset: dict[str, Any]) -> dict[str, Any]:
    """A model's dataset description as clients see it: the imported files by name only
    (``files``), not where they sat on the server's disk; no ``data_dir``. The model's
    config.json keeps the full paths."""
    out = {k: v for k, v in dataset.items() if k != "data_dir"}
    if isinstance(out.get("files"), dict):
        out["files"] = {k: PurePath(str(v)).name for k, v in out["files"].items()}
    return out


def describe_models(explorer: Explorer) -> list[ModelFacts]:
    return [describe_model(m) for m in explorer.store.models.values()]

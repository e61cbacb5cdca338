"""Build an index from items held in memory: a model's dataset, or imported embeddings.

The fitting itself (projections, inverse maps, quality) is app/index/fitting.py's; a folder too
large for memory is streamed by app/index/stream.py instead; app/index/ensure.py decides
whether a cached index is fresh or one of these builds runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from app.index.anomaly import recorded_normal_classes
from app.index.fitting import IndexParams, cache_key, data_hash, index_latents
from app.index.model_measures import model_measures
from app.index.store import LatentIndex
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.data import DatasetSpec
from models.data.base import ImageSet
from models.data.items import ItemColumns
from models.data.stored import STORED_SPEC, read_items
from models.errors import DatasetError
from models.training import as_float, encode_all


def build_index(
    model: LatentModel,
    info: CheckpointInfo,
    data: ImageSet,
    params: IndexParams,
    device: torch.device | str = "cpu",
) -> LatentIndex:
    """Encode every item, fit the projections and their inverse maps, measure quality."""
    t0 = time.perf_counter()
    latents, errors = encode_all(model, data.images, device)
    encode_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    measured = model_measures(model, data.images, seed=params.seed, device=device)
    return index_latents(
        data.items.encoded(latents, errors),
        params,
        key=cache_key(info, params),
        data_sha256=data_hash(data),
        timings={"encode": encode_seconds, "model_measures": time.perf_counter() - t0},
        holdout_ids=recorded_holdout(info),
        normal_classes=recorded_normal_classes(info.training),
        model_quality=measured,
    )


def recorded_holdout(info: CheckpointInfo) -> list[int] | None:
    """The items the model never trained on, as its config.json records them; None when it
    records none (imports, models trained before the split was recorded)."""
    ids = info.training.get("holdout_ids")
    if not isinstance(ids, list) or not ids:
        return None
    return [int(i) for i in ids]


def embeddings_index(
    folder: Path,
    info: CheckpointInfo,
    params: IndexParams,
    model: LatentModel | None = None,
    device: torch.device | str = "cpu",
) -> LatentIndex:
    """The index of imported embeddings, built from the vectors stored with them; with
    reconstruction errors when ``model`` decodes them (a fitted decoder) and there are images."""
    from models.embeddings import read_source

    source = read_source(folder, info)
    errors = None
    if model is not None and model.can_decode and source.images is not None:
        errors = decoded_errors(model, source.vectors, source.images, device)
    items = ItemColumns(
        item_names=source.item_names,
        labels=source.labels,
        label_field=info.dataset.get("label_field"),
        label_names=tuple(info.dataset.get("label_names", ())),
        metadata=source.metadata,
        images=source.images,
        latents=source.vectors,
        errors=errors,
    )
    return index_latents(
        items, params, key=cache_key(info, params), data_sha256=info.weights_sha256
    )


@torch.inference_mode()
def decoded_errors(
    model: LatentModel,
    latents: np.ndarray,
    images: np.ndarray,
    device: torch.device | str,
    batch_size: int = 512,
) -> np.ndarray:
    """Per-item MSE (N,) float32 of ``model.decode`` of stored latents against their images."""
    errors = []
    for first in range(0, len(latents), batch_size):
        z = torch.from_numpy(np.asarray(latents[first : first + batch_size], np.float32))
        x = as_float(images[first : first + batch_size], torch.device(device))
        recon = model.decode(z.to(device))  # (B, C, H, W)
        errors.append((recon - x).pow(2).flatten(1).mean(1).float().cpu().numpy())
    return np.concatenate(errors)


def streams_folder(info: CheckpointInfo) -> bool:
    """Whether the model's dataset is a folder of images, indexed by streaming it."""
    spec = str(info.dataset.get("spec", ""))
    return spec.strip().lower().startswith("folder:")


def dataset_for(info: CheckpointInfo, folder: Path | None = None) -> ImageSet:
    """Reload the dataset a checkpoint was trained on, as its config records it; a model
    saved from Python keeps its items in its own ``folder`` (models/data/stored.py)."""
    spec = info.dataset.get("spec")
    if spec == STORED_SPEC:
        if folder is None:
            raise DatasetError("this model keeps its items in its own folder: give the folder")
        return read_items(folder, info.dataset)
    if spec == "python":  # saved before the items were kept with the model
        raise DatasetError(
            "this model was saved from Python (latent_explorer.from_torch) by a version that "
            "did not keep its items, so there is nothing to index it from: save the entry "
            "again (entry.save(workspace, overwrite=True))"
        )
    return DatasetSpec.from_record(info.dataset).load()

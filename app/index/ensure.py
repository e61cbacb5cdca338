"""The one place that decides whether a model's index is fresh, and builds it when it is not.

Fresh means: the saved index was made with this cache key (weights, dataset record, index
parameters) and, when asked to check the data too, from the same items (the data hash of the
images, labels and metadata the dataset gives today). The CLI's ``index`` command checks the
data; the server's start, training and imports trust the key, since reading a dataset again
costs as much as encoding it.

Which build runs depends on the model: imported embeddings are indexed from their stored
vectors, a ``folder:PATH`` model is streamed from its folder in batches (app/index/stream.py),
and every other model encodes its dataset in memory (app/index/build.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from app.index.build import build_index, dataset_for, embeddings_index, streams_folder
from app.index.fitting import IndexParams, cached_index, data_hash
from app.index.store import LatentIndex, save_index
from app.index.stream import refresh_folder_index
from app.workspace import index_dir
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.data.base import ImageSet


def ensure_index(
    folder: Path,
    model: LatentModel,
    info: CheckpointInfo,
    params: IndexParams,
    device: torch.device | str = "cpu",
    *,
    data: ImageSet | None = None,
    force: bool = False,
    check_data: bool = False,
    progress: bool = False,
) -> tuple[LatentIndex, bool]:
    """The model's index, from the cache when it is fresh; returns (index, built_now).

    data:       the model's dataset when the caller already holds it (training, imports);
                otherwise it is loaded, or streamed for a folder model, only when needed
    force:      build even when the cached index is fresh
    check_data: also compare the data hash of today's dataset with the cached index's
    progress:   show a bar while a folder is decoded and encoded
    """
    cached = None if force else cached_index(folder, info, params)
    if cached is not None and not check_data:
        return cached, False
    if model.stored_latents:  # its data is its weights: the key covers both
        if cached is not None:
            return cached, False
        index = embeddings_index(folder, info, params, model, device)
    elif data is None and streams_folder(info):  # the scan gives the data hash on the way
        return refresh_folder_index(
            folder, model, info, params, device, force=cached is None, progress=progress
        )
    else:
        data = dataset_for(info, folder) if data is None else data
        if cached is not None and cached.data_sha256 == data_hash(data):
            return cached, False
        index = build_index(model, info, data, params, device)
    save_index(index, index_dir(folder))
    return index, True

"""Encode a model's items with Ray Data, then build its index from the Parquet shards.

``latent-explorer index --engine ray [--ray-address ADDR]``: the driver (this process) reads
the model's dataset, since the index keeps every item's image anyway; Ray spreads the encoding,
the part that grows with the model. ``map_batches`` runs ``ShardEncoder``, a callable class
each Ray worker builds once: it rebuilds the model from the checkpoint's own files (config.json
and safetensors weights, shipped as bytes with the constructor's arguments, so no pickled
code travels with the weights and the workers need not see the workspace), then encodes batch after
batch. Workers ask for a GPU each when the cluster has GPUs. Each writes Parquet shards of
``id`` (the item's row), ``latent`` (fixed-size list of float32) and ``error`` (reconstruction
MSE; absent for encoder-only models). The driver reads the shards back in id order and fits
the index from those latents as it does for imported embeddings (``index_latents``), under the
same cache key and data hash as the in-process build, so either build serves the other's cache.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.index.build import dataset_for, recorded_holdout, recorded_normal_classes
from app.index.fitting import IndexParams, cache_key, cached_index, data_hash, index_latents
from app.index.store import LatentIndex, save_index
from app.workspace import index_dir
from models.checkpoint import CheckpointInfo
from models.data.base import ImageSet
from models.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'latent-explorer[ray]' (or pip install 'ray[data]')"
SHARD_BATCH = 512  # rows per Ray block and per encode batch: encode_all's own batch size
SCRATCH_PREFIX = ".index.ray-"


@dataclass(frozen=True)
class RayOptions:
    """Where and how the encoding runs."""

    address: str | None = None  # None: a Ray started in this process (or the one running)
    shards: str | None = None  # Parquet folder or URI workers can write; None: scratch, removed
    batch_size: int = SHARD_BATCH


def import_ray() -> Any:
    """The ``ray`` module, or a ConfigError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the extra installs both; ray alone lacks Data's deps)
    except ImportError:
        raise ConfigError(
            f"--engine ray needs Ray Data, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


def checkpoint_files(folder: Path) -> dict[str, bytes]:
    """The files a worker needs to rebuild the model: the folder's top-level files (config.json,
    the weights), not its index or scratch folders."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class ShardEncoder:
    """Built once per Ray worker: rebuilds the model from the checkpoint's files, then encodes
    the batches it is given."""

    def __init__(self, files: dict[str, bytes], trust_code: bool, use_gpu: bool) -> None:
        import torch

        from models.registry import load_checkpoint

        self.device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
        self._dir = tempfile.mkdtemp(prefix="latent-explorer-ray-")
        for name, blob in files.items():
            (Path(self._dir) / name).write_bytes(blob)
        self.model, _ = load_checkpoint(Path(self._dir), self.device, trust_code=trust_code)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        from models.training import encode_all

        shape = self.model.image_shape  # (C, H, W)
        flat = batch.column("pixels").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        pixels = flat.reshape(-1, *shape)  # (B, C, H, W) uint8
        latents, errors = encode_all(self.model, pixels, self.device, batch_size=len(pixels))
        columns: dict[str, pa.Array] = {
            "id": batch.column("id").combine_chunks(),
            "latent": fixed_size_list(latents),
        }
        if errors is not None:
            columns["error"] = pa.array(errors, type=pa.float32())
        return pa.table(columns)

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_dir", ""), ignore_errors=True)


def fixed_size_list(rows: np.ndarray) -> pa.Array:
    """(N, D) numbers as an Arrow fixed-size list column (Parquet keeps it as a list)."""
    import pyarrow as pa

    values = pa.array(np.ascontiguousarray(rows).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(values, rows.shape[1])


def _item_blocks(images: np.ndarray, batch_size: int) -> list[pa.Table]:
    """The items as Arrow tables of ``batch_size`` rows: ``id`` and flattened ``pixels``."""
    import pyarrow as pa

    flat = images.reshape(len(images), -1)  # (N, C*H*W)
    return [
        pa.table(
            {
                "id": pa.array(np.arange(first, first + len(chunk), dtype=np.int64)),
                "pixels": fixed_size_list(chunk),
            }
        )
        for first in range(0, len(flat), batch_size)
        for chunk in (flat[first : first + batch_size],)
    ]


def read_shards(path: str, n_items: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Latents (N, D) float32 and errors (N,) or None, in id order, from the Parquet shards."""
    import pyarrow.parquet as pq

    table = pq.read_table(path).sort_by("id")
    ids = table.column("id").to_numpy()
    if not np.array_equal(ids, np.arange(n_items)):
        raise ConfigError(
            f"{path}: the shards hold {len(ids)} rows, not the ids 0..{n_items - 1}; "
            "was the folder shared with another run?"
        )
    latent = table.column("latent").combine_chunks()
    dim = latent.type.list_size
    latents = latent.flatten().to_numpy().astype(np.float32).reshape(-1, dim)
    if "error" not in table.column_names:
        return latents, None
    return latents, table.column("error").to_numpy().astype(np.float32)


def encode_with_ray(
    folder: Path, data: ImageSet, options: RayOptions, trust_code: bool, shards: str
) -> None:
    """Encode ``data`` with the model in ``folder`` on the Ray cluster; write Parquet shards."""
    ray = import_ray()
    if not ray.is_initialized() and options.address is None:
        # A Ray for this run (or $RAY_ADDRESS's): no dashboard, no worker chatter on the console.
        ray.init(include_dashboard=False, log_to_driver=False)
    elif not ray.is_initialized():
        ray.init(address=options.address)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    workers = max(1, gpus or int(resources.get("CPU", 1)))
    log.info("%s: encoding %d items on Ray (%d %s workers)", folder.name, len(data), workers,
             "GPU" if gpus else "CPU")  # fmt: skip
    blocks = ray.data.from_arrow(_item_blocks(data.images, options.batch_size))
    files = checkpoint_files(folder)  # Ray Data puts the constructor's arguments in its store
    encoded = blocks.map_batches(
        ShardEncoder,
        batch_format="pyarrow",
        batch_size=options.batch_size,
        fn_constructor_kwargs={"files": files, "trust_code": trust_code, "use_gpu": gpus > 0},
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),
        num_gpus=1 if gpus else None,
        num_cpus=None if gpus else 1,
    )
    encoded.write_parquet(shards)


def _check_shards(shards: str | None) -> None:
    """A shards folder of the user's must be empty: the index is read from all it holds."""
    if shards is None or "://" in shards:
        return
    path = Path(shards)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(f"--ray-shards {shards}: not an empty folder; give a new or empty one")


def ray_index(
    folder: Path,
    info: CheckpointInfo,
    params: IndexParams,
    options: RayOptions,
    *,
    trust_code: bool = False,
    force: bool = False,
) -> tuple[LatentIndex, bool]:
    """Encode the model's dataset with Ray, build its index from the shards and save it;
    returns (index, built_now). A cached index made from the same key and the same data is
    kept unless ``force``, as ``ensure_index(check_data=True)`` keeps it."""
    from models.registry import kind

    if kind(info.architecture).stored_latents:
        raise ConfigError(
            f"{folder.name}: imported embeddings have nothing to encode; index them without "
            "--engine ray"
        )
    _check_shards(options.shards)
    import_ray()  # before reading the dataset: say what to install at once
    data = dataset_for(info, folder)
    cached = None if force else cached_index(folder, info, params)
    if cached is not None and cached.data_sha256 == data_hash(data):
        return cached, False
    scratch = None
    if options.shards is None:
        scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=folder))
    shards = options.shards or str(scratch)
    try:
        t0 = time.perf_counter()
        encode_with_ray(folder, data, options, trust_code, shards)
        latents, errors = read_shards(shards, len(data))
        encode_seconds = time.perf_counter() - t0
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    index = index_latents(
        data.items.encoded(latents, errors),
        params,
        key=cache_key(info, params),
        data_sha256=data_hash(data),
        timings={"encode": encode_seconds},
        holdout_ids=recorded_holdout(info),
        normal_classes=recorded_normal_classes(info.training),
    )
    save_index(index, index_dir(folder))
    return index, True

"""Index a folder of images without holding its images in memory: ``folder:PATH`` at any size.

The in-memory path (``dataset_for`` + ``build_index``) decodes every image into one array
before encoding: 100,000 RGB images of 64 px are 1.2 GB, and the loader briefly holds more
than one copy. Here the folder is listed first (names, class folders, metadata.csv: no pixels),
then decoded ``batch_size`` images at a time; each batch is converted to the model's channels,
written straight into a memory-mapped .npy on disk and encoded. What stays in memory grows
only by the latents, errors and names of the items (tens of bytes each), not their pixels.
The projections and quality figures are then fitted by ``index_latents`` (app/index/fitting.py)
as for any index; they read images only in chunks (the data hash, ``save_images``) or as a
capped subsample (the pixel kNN figure, at most ``KNN_MAX_POINTS`` images).

The result is the in-memory path's: the same items in the same order (sorted by path; with
``size``, the same seeded subset), the same images, labels, metadata and data hash; latents
equal up to the float rounding that differs between batch sizes.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.index.anomaly import recorded_normal_classes
from app.index.build import recorded_holdout
from app.index.fitting import IndexParams, cache_key, cached_index, content_sha256, index_latents
from app.index.model_measures import model_measures
from app.index.store import LatentIndex, save_index
from app.workspace import index_dir
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.data.base import check_image_size
from models.data.folder import (
    FolderListing,
    check_decoded,
    decode_order,
    item_columns,
    list_folder,
    read_square_rgb,
)
from models.data.imageops import check_subset_size, convert_channels
from models.data.items import ItemColumns
from models.errors import DatasetError
from models.training import encode_all

log = logging.getLogger(__name__)

# Images decoded, held and encoded at a time. 512 is encode_all's batch (batched encoding is
# ~10x faster per image than single images on 2 cores, and gains little past a few hundred),
# and at 64 px RGB it holds about 6 MB of pixels plus the model's activations.
STREAM_BATCH = 512
SCRATCH_PREFIX = ".index.stream-"


@dataclass
class FolderScan:
    """A folder decoded and encoded batch by batch; ``items.images`` lives on disk, memory-mapped
    from a scratch .npy."""

    items: ItemColumns  # with latents, and errors unless the model is encoder-only
    skipped: int  # image files that could not be decoded
    data_sha256: str
    timings: dict[str, float] = field(default_factory=dict)


class _BatchEncoder:
    """Collects decoded pictures into batches; each full batch is converted to the model's
    channels, written into the memory-mapped ``rows`` and encoded."""

    def __init__(
        self,
        rows: np.ndarray,
        model: LatentModel,
        device: torch.device | str,
        batch_size: int,
        bar: Any,
    ) -> None:
        self.rows = rows  # (capacity, C, S, S) uint8, filled in decode order
        self.file_of_row = np.empty(len(rows), dtype=np.int64)  # listing index of each row
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.bar = bar
        self.count = 0  # rows written
        self.encode_seconds = 0.0
        self.latents: list[np.ndarray] = []
        self.errors: list[np.ndarray] = []
        self._batch: list[np.ndarray] = []

    @property
    def full(self) -> bool:
        return self.count == len(self.rows)

    def add(self, file_index: int, picture: np.ndarray) -> None:
        """Queue one (S, S, 3) picture; encode the batch once it is full or fills the rows."""
        self.file_of_row[self.count + len(self._batch)] = file_index
        self._batch.append(picture)
        if len(self._batch) == self.batch_size or self.count + len(self._batch) == len(self.rows):
            self.flush()

    def flush(self) -> None:
        """Write and encode the queued pictures (nothing when none are queued)."""
        if not self._batch:
            return
        rgb = np.stack(self._batch).transpose(0, 3, 1, 2)  # (B, S, S, 3) -> (B, 3, S, S)
        channels = self.rows.shape[1]
        pixels = np.ascontiguousarray(convert_channels(rgb, channels))  # (B, C, S, S)
        self.rows[self.count : self.count + len(pixels)] = pixels
        t0 = time.perf_counter()
        z, e = encode_all(self.model, pixels, self.device, batch_size=len(pixels))
        self.encode_seconds += time.perf_counter() - t0
        self.latents.append(z)
        if e is not None:
            self.errors.append(e)
        self.count += len(pixels)
        self.bar.update(len(pixels))
        self._batch.clear()


def _check_scan(image_size: int, channels: int, size: int | None, batch_size: int) -> None:
    check_image_size(image_size)
    check_subset_size(size)
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {channels}")
    if batch_size < 1:
        raise DatasetError(f"batch size must be at least 1, not {batch_size}")


def _decode_all(
    listing: FolderListing,
    encoder: _BatchEncoder,
    image_size: int,
    size: int | None,
    seed: int,
) -> int:
    """Feed the listed images to ``encoder`` in ``load_folder``'s decode order until its rows
    are full; returns how many files could not be decoded."""
    skipped = 0
    for i in decode_order(len(listing.names), size, seed):
        picture = read_square_rgb(listing.path_of(int(i)), image_size)
        if picture is None:
            skipped += 1
            encoder.bar.set_postfix(skipped=skipped, refresh=False)
            continue
        encoder.add(int(i), picture)
        if encoder.full:
            break
    encoder.flush()
    return skipped


def scan_folder(
    listing: FolderListing,
    model: LatentModel,
    scratch: Path,
    *,
    image_size: int,
    channels: int,
    size: int | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = STREAM_BATCH,
    progress: bool = False,
) -> FolderScan:
    """Decode the listed images in batches into ``scratch/decoded.npy``; encode each batch.

    The items are those ``load_folder(listing.root, image_size=..., channels=..., size=...,
    seed=...)`` returns, in its order.
    """
    from tqdm import tqdm

    _check_scan(image_size, channels, size, batch_size)
    n_files = len(listing.names)
    capacity = n_files if size is None else min(size, n_files)
    # Unreadable files leave the last rows unused.
    rows = np.lib.format.open_memmap(
        scratch / "decoded.npy",
        mode="w+",
        dtype=np.uint8,
        shape=(capacity, channels, image_size, image_size),
    )
    started = time.perf_counter()
    with tqdm(
        total=capacity, desc="index", unit="img", disable=not progress, file=sys.stderr
    ) as bar:
        encoder = _BatchEncoder(rows, model, device, batch_size, bar)
        skipped = _decode_all(listing, encoder, image_size, size, seed)
    timings = {"encode": encoder.encode_seconds}
    timings["decode"] = time.perf_counter() - started - encoder.encode_seconds
    check_decoded(listing, encoder.count, skipped, size)

    t0 = time.perf_counter()  # "hash": back to path order, the item columns, the data hash
    picked, images, latents, errors = _in_path_order(
        rows, encoder.file_of_row[: encoder.count], np.concatenate(encoder.latents),
        np.concatenate(encoder.errors) if encoder.errors else None, scratch,
    )  # fmt: skip
    items = item_columns(listing, picked)
    digest = content_sha256(images, items.labels, items.metadata)
    timings["hash"] = time.perf_counter() - t0
    return FolderScan(
        items=replace(items, images=images, latents=latents, errors=errors),
        skipped=skipped,
        data_sha256=digest,
        timings=timings,
    )


def _in_path_order(
    written: np.ndarray,
    chosen: np.ndarray,
    latents: np.ndarray,
    errors: np.ndarray | None,
    scratch: Path,
    chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Rows back in sorted path order, as ``load_folder`` returns them.

    Decoding in path order (no ``size``) already wrote them so: the filled rows are a view.
    A seeded subset was decoded in a random order, so its images are copied in chunks into a
    second scratch file, never all in memory.
    """
    n = len(chosen)
    keep = np.argsort(chosen, kind="stable")
    if np.array_equal(keep, np.arange(n)):
        return chosen, written[:n], latents, errors
    ordered = np.lib.format.open_memmap(
        scratch / "ordered.npy", mode="w+", dtype=np.uint8, shape=(n, *written.shape[1:])
    )
    for first in range(0, n, chunk):
        ordered[first : first + chunk] = written[keep[first : first + chunk]]  # reads one chunk
    ordered.flush()
    return (
        chosen[keep],
        ordered,
        latents[keep],
        errors[keep] if errors is not None else None,
    )


def remove_stale_scratch(folder: Path) -> None:
    """Delete the scratch folders an earlier run left in ``folder``: ``finally`` removes them,
    but not after the process was killed (SIGKILL, out of memory), and each holds a full copy
    of the decoded images. Only ``SCRATCH_PREFIX`` folders directly inside ``folder`` go."""
    for path in folder.glob(f"{SCRATCH_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            log.info("%s: removing %s, left by an interrupted index run", folder.name, path.name)
            shutil.rmtree(path, ignore_errors=True)


def _listing_of(info: CheckpointInfo) -> FolderListing:
    """The folder a ``folder:PATH`` model was trained on, listed."""
    path = str(info.dataset["spec"]).strip().partition(":")[2]
    if not path:
        raise DatasetError("folder needs a path: folder:PATH, e.g. folder:./my-images")
    return list_folder(path)


def _fit_and_save(
    scan: FolderScan,
    folder: Path,
    info: CheckpointInfo,
    params: IndexParams,
    measured: dict[str, Any],
) -> LatentIndex:
    """Fit the index on a scan and save it; the index then reads its images from the saved
    copy, so the scratch copy can go."""
    index = index_latents(
        scan.items,
        params,
        key=cache_key(info, params),
        data_sha256=scan.data_sha256,
        timings=scan.timings,
        holdout_ids=recorded_holdout(info),
        normal_classes=recorded_normal_classes(info.training),
        model_quality=measured,
    )
    save_index(index, index_dir(folder))
    saved = np.load(index_dir(folder) / "images.npy", mmap_mode="r", allow_pickle=False)
    index.items = replace(index.items, images=saved)
    return index


def refresh_folder_index(
    folder: Path,
    model: LatentModel,
    info: CheckpointInfo,
    params: IndexParams,
    device: torch.device | str = "cpu",
    *,
    force: bool = False,
    progress: bool = False,
    batch_size: int = STREAM_BATCH,
) -> tuple[LatentIndex, bool]:
    """The index of a model trained on ``folder:PATH``, streamed; returns (index, built_now).

    The cached index is kept when its key and the folder's data hash (pixels, labels,
    metadata.csv) both match, unless ``force``; the hash needs every image decoded, so the
    scan runs either way and only the fitting is saved. Otherwise the index is fitted and
    saved atomically. Scratch folders an interrupted run left in ``folder`` are deleted first.
    """
    remove_stale_scratch(folder)
    listing = _listing_of(info)
    cached = None if force else cached_index(folder, info, params)
    log.info(
        "%s: streaming %d images from %s in batches of %d",
        folder.name, len(listing.names), listing.root, batch_size,
    )  # fmt: skip
    # Scratch space beside the index rather than in the system temp folder: that is often a
    # RAM disk (tmpfs), which would hold the very pixels this avoids holding.
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=folder))
    try:
        scan = scan_folder(
            listing,
            model,
            scratch,
            image_size=int(info.dataset["image_size"]),
            channels=int(info.dataset.get("channels") or model.image_shape[0]),
            size=info.dataset.get("size"),
            seed=int(info.dataset.get("seed", 0)),
            device=device,
            batch_size=batch_size,
            progress=progress,
        )
        if scan.skipped:
            log.warning("%s: skipped %d unreadable files", listing.root, scan.skipped)
        if cached is not None and cached.data_sha256 == scan.data_sha256:
            return cached, False
        measured = model_measures(model, scan.items.images, seed=params.seed, device=device)
        index = _fit_and_save(scan, folder, info, params, measured)
        del scan  # its memory map of the scratch copy must close before the folder goes
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return index, True

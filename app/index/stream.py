"""Index a folder of images without holding its images in memory: ``folder:PATH`` at any size.

The in-memory path (``dataset_for`` + ``build_index``) decodes every image into one array
before encoding: 100,000 RGB images of 64 px are 1.2 GB, and the loader briefly holds more
than one copy. Here the folder is listed first (names, class folders, metadata.csv: no pixels),
then decoded ``batch_size`` images at a time; each batch is converted to the model's channels,
written straight into a memory-mapped .npy on disk and encoded. What stays in memory grows
only by the latents, errors and names of the items (tens of bytes each), not their pixels.
The projections and quality figures are then fitted by ``index_latents`` as for any index;
they read images only in chunks (the data hash, ``save_images``) or as a capped subsample (the
pixel kNN figure, at most ``KNN_MAX_POINTS`` images).

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from app.index.build import (
    IndexInput,
    IndexParams,
    cache_key,
    cached_index,
    content_sha256,
    index_latents,
)
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
    """A folder decoded and encoded batch by batch; ``images`` lives on disk."""

    images: np.ndarray  # (N, C, S, S) uint8, memory-mapped from a scratch .npy
    latents: np.ndarray  # (N, D) float32
    errors: np.ndarray | None  # (N,) float32; None for an encoder-only model
    labels: np.ndarray | None
    label_names: tuple[str, ...]
    item_names: np.ndarray
    metadata: dict[str, np.ndarray]
    skipped: int  # image files that could not be decoded
    data_sha256: str
    timings: dict[str, float] = field(default_factory=dict)

    def index_input(self) -> IndexInput:
        return IndexInput(
            latents=self.latents,
            errors=self.errors,
            images=self.images,
            labels=self.labels,
            label_field="class" if self.label_names else None,
            label_names=self.label_names,
            item_names=self.item_names,
            metadata=self.metadata,
        )


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

    check_image_size(image_size)
    check_subset_size(size)
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (RGB), not {channels}")
    if batch_size < 1:
        raise DatasetError(f"batch size must be at least 1, not {batch_size}")
    n_files = len(listing.names)
    capacity = n_files if size is None else min(size, n_files)
    # Rows are filled in decode order; unreadable files leave the last rows unused.
    written = np.lib.format.open_memmap(
        scratch / "decoded.npy",
        mode="w+",
        dtype=np.uint8,
        shape=(capacity, channels, image_size, image_size),
    )
    chosen = np.empty(capacity, dtype=np.int64)  # file index of each written row
    latents: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    timings = {"decode": 0.0, "encode": 0.0}
    count = skipped = 0
    batch: list[np.ndarray] = []
    bar = tqdm(total=capacity, desc="index", unit="img", disable=not progress, file=sys.stderr)

    def flush() -> None:
        nonlocal count
        rgb = np.stack(batch).transpose(0, 3, 1, 2)  # (B, S, S, 3) -> (B, 3, S, S)
        pixels = np.ascontiguousarray(convert_channels(rgb, channels))  # (B, C, S, S)
        written[count : count + len(pixels)] = pixels
        t0 = time.perf_counter()
        z, e = encode_all(model, pixels, device, batch_size=len(pixels))
        timings["encode"] += time.perf_counter() - t0
        latents.append(z)
        if e is not None:
            errors.append(e)
        count += len(pixels)
        bar.update(len(pixels))
        batch.clear()

    started = time.perf_counter()
    try:
        for i in decode_order(n_files, size, seed):
            picture = read_square_rgb(listing.path_of(int(i)), image_size)
            if picture is None:
                skipped += 1
                bar.set_postfix(skipped=skipped, refresh=False)
                continue
            chosen[count + len(batch)] = i
            batch.append(picture)
            if len(batch) == batch_size or count + len(batch) == capacity:
                flush()
                if count == capacity:
                    break
        if batch:
            flush()
    finally:
        bar.close()
    timings["decode"] = time.perf_counter() - started - timings["encode"]
    check_decoded(listing, count, skipped, size)

    t0 = time.perf_counter()  # "hash": back to path order, the item columns, the data hash
    picked, images, z_all, e_all = _in_path_order(
        written, chosen[:count], np.concatenate(latents),
        np.concatenate(errors) if errors else None, scratch,
    )  # fmt: skip
    items = item_columns(listing, picked)
    digest = content_sha256(images, items.labels, items.metadata)
    timings["hash"] = time.perf_counter() - t0
    return FolderScan(
        images=images,
        latents=z_all,
        errors=e_all,
        labels=items.labels,
        label_names=listing.classes,
        item_names=items.item_names,
        metadata=items.metadata,
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
    saved atomically; the returned index reads its images memory-mapped from the saved copy.
    Scratch folders an interrupted run left in ``folder`` are deleted first.
    """
    remove_stale_scratch(folder)
    spec = dict(info.dataset)
    path = str(spec["spec"]).strip().partition(":")[2]
    if not path:
        raise DatasetError("folder needs a path: folder:PATH, e.g. folder:./my-images")
    listing = list_folder(path)
    cached = None if force else cached_index(folder, info, params)
    channels = int(spec.get("channels") or model.image_shape[0])
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
            image_size=int(spec["image_size"]),
            channels=channels,
            size=spec.get("size"),
            seed=int(spec.get("seed", 0)),
            device=device,
            batch_size=batch_size,
            progress=progress,
        )
        if scan.skipped:
            log.warning("%s: skipped %d unreadable files", listing.root, scan.skipped)
        if cached is not None and cached.data_sha256 == scan.data_sha256:
            return cached, False
        index = index_latents(
            scan.index_input(),
            params,
            key=cache_key(info, params),
            data_sha256=scan.data_sha256,
            timings=scan.timings,
        )
        save_index(index, index_dir(folder))
        # The scratch copy goes next: the index reads its images from the one just saved.
        saved = index_dir(folder) / "images.npy"
        index.images = np.load(saved, mmap_mode="r", allow_pickle=False)
        del scan
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return index, True

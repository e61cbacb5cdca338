"""Precomputed embeddings: a workspace entry with vectors and no model at all.

Folder layout (beside config.json, whose ``architecture`` is ``"embeddings"``)::

    source/items.npz     vectors (N, D) f32, item_names (N,) str, labels (N,) i64 (-1: none)
    source/metadata.npz  one (N,) column per metadata field, keys ``col_<name>``
    source/images.npy    (N, C, H, W) uint8, only when the import named images

``source/`` is what the index is (re)built from; ``weights_sha256`` in config.json is the
SHA-256 of ``items.npz``, so the index cache key changes when the vectors do.
``EmbeddingsModel`` satisfies ``LatentModel`` with ``stored_latents`` True (so ``can_encode``
and ``can_decode`` are False): nothing can be encoded or decoded, everything else (maps,
neighbours, attribute vectors, export) works on the stored vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.base import MIN_MAPPED_DIM, LatentModel, ModelConfig
from models.checkpoint import CheckpointInfo, sha256_file, verify_file
from models.data.base import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from models.errors import CheckpointError, ConfigError

SOURCE_DIR = "source"
ITEMS_FILE = "items.npz"
METADATA_FILE = "metadata.npz"
IMAGES_FILE = "images.npy"
# The widest vectors an entry takes, and the longest latent a request may carry (app/schemas.py):
# 4096 covers the common text and image embedding models (384 to 3072 dimensions).
MAX_EMBEDDING_DIM = 4096
MIN_EMBEDDING_DIM = MIN_MAPPED_DIM
# The fewest vectors an index is built from: its trustworthiness figure compares 10 neighbours
# and needs 2 * 10 + 1 items (app/index/build.py), which also exceeds UMAP's 15 neighbours.
MIN_EMBEDDING_ROWS = 21
NO_IMAGES = (0, 0, 0)


def shape_problem(n: int, dim: int) -> str | None:
    """What is wrong with ``n`` vectors of ``dim`` dimensions for an index, or None."""
    if dim < MIN_EMBEDDING_DIM:
        return (
            f"vectors of {dim} dimension{'' if dim == 1 else 's'}, too few: at least "
            f"{MIN_EMBEDDING_DIM} are needed (the maps have two axes)"
        )
    if dim > MAX_EMBEDDING_DIM:
        return f"vectors of {dim} dimensions, too many: at most {MAX_EMBEDDING_DIM} are allowed"
    if n < MIN_EMBEDDING_ROWS:
        return (
            f"{n} vector{'' if n == 1 else 's'}, too few: at least {MIN_EMBEDDING_ROWS} are "
            "needed to draw the maps and measure them"
        )
    return None


@dataclass
class EmbeddingsConfig(ModelConfig):
    """``image_shape`` is (0, 0, 0) when the embeddings come without images."""

    image_shape: tuple[int, int, int] = NO_IMAGES

    def validate(self) -> None:
        if not MIN_EMBEDDING_DIM <= self.latent_dim <= MAX_EMBEDDING_DIM:
            raise ConfigError(
                f"embedding dimension {self.latent_dim} is out of range: "
                f"allowed {MIN_EMBEDDING_DIM} to {MAX_EMBEDDING_DIM}"
            )
        if tuple(self.image_shape) == NO_IMAGES:
            return
        c, h, w = self.image_shape
        if c not in (1, 3) or not all(MIN_IMAGE_SIZE <= s <= MAX_IMAGE_SIZE for s in (h, w)):
            sides = f"{MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}"
            raise ConfigError(f"image shape {self.image_shape} is not (1 or 3, {sides}, {sides})")


class EmbeddingsModel(LatentModel):
    """No encoder, no decoder: the vectors are all there is."""

    name = "embeddings"
    config_class = EmbeddingsConfig
    stored_latents = True

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        """Only checks the vectors are there: the index reads them (``read_source``)."""
        items = folder / SOURCE_DIR / ITEMS_FILE
        if not items.is_file():
            raise CheckpointError(f"{items}: missing (imported embeddings need their vectors)")
        return cls(EmbeddingsConfig.from_checkpoint(folder, info))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise ConfigError("precomputed embeddings have no encoder")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise ConfigError("precomputed embeddings have no decoder")


@dataclass
class EmbeddingsSource:
    """The imported data, as stored in ``source/``."""

    vectors: np.ndarray  # (N, D) float32, finite
    item_names: np.ndarray  # (N,) unicode
    labels: np.ndarray | None  # (N,) int64 indices into label_names
    metadata: dict[str, np.ndarray]  # (N,) float64 or unicode columns
    images: np.ndarray | None  # (N, C, H, W) uint8

    def check(self) -> None:
        """Shapes agree, there are enough vectors of an allowed width (``shape_problem``) and
        every vector is finite (the file readers check first, naming the file and rows)."""
        n = len(self.vectors)
        if self.vectors.ndim != 2 or n == 0 or self.vectors.shape[1] == 0:
            raise ConfigError(f"vectors must be a non-empty (N, D) array, got {self.vectors.shape}")
        problem = shape_problem(n, self.vectors.shape[1])
        if problem is not None:
            raise ConfigError(f"vectors {self.vectors.shape}: {problem}")
        if not np.isfinite(self.vectors).all():
            raise ConfigError("vectors contain NaN or infinite values")
        columns = {"item names": self.item_names, **self.metadata}
        if self.labels is not None:
            columns["labels"] = self.labels
        if self.images is not None:
            columns["images"] = self.images
        for what, column in columns.items():
            if len(column) != n:
                raise ConfigError(f"{what}: {len(column)} rows for {n} vectors")


def write_source(source: EmbeddingsSource, folder: Path) -> str:
    """Write ``source/`` under ``folder``; returns the SHA-256 of the vectors file."""
    out = folder / SOURCE_DIR
    out.mkdir(parents=True, exist_ok=True)
    labels = source.labels if source.labels is not None else np.full(len(source.vectors), -1)
    np.savez(
        out / ITEMS_FILE,
        allow_pickle=False,
        vectors=source.vectors.astype(np.float32),
        item_names=source.item_names.astype(np.str_),
        labels=labels.astype(np.int64),
    )
    columns = {
        f"col_{k}": v.astype(np.str_) if v.dtype == object else v
        for k, v in source.metadata.items()
    }
    np.savez(out / METADATA_FILE, allow_pickle=False, **columns)
    if source.images is not None:
        np.save(out / IMAGES_FILE, source.images, allow_pickle=False)
    return sha256_file(out / ITEMS_FILE)


def read_source(folder: Path, info: CheckpointInfo) -> EmbeddingsSource:
    """Read ``source/`` back, checking the vectors file against config.json."""
    src = folder / SOURCE_DIR
    items_file = src / ITEMS_FILE
    verify_file(items_file, info.weights_sha256, "imported embeddings need their vectors", "import")
    fields: list[str] = list(info.dataset.get("metadata_fields", []))
    try:
        with np.load(items_file, allow_pickle=False) as items:
            vectors, names, labels = items["vectors"], items["item_names"], items["labels"]
        with np.load(src / METADATA_FILE, allow_pickle=False) as meta:
            metadata = {k: meta[f"col_{k}"] for k in fields}
        images_file = src / IMAGES_FILE
        images = (
            np.load(images_file, mmap_mode="r", allow_pickle=False)
            if images_file.is_file()
            else None
        )
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{src}: damaged import ({exc}); import the embeddings again"
        ) from None
    has_labels = info.dataset.get("label_field") is not None
    return EmbeddingsSource(
        vectors=vectors,
        item_names=names,
        labels=labels if has_labels else None,
        metadata=metadata,
        images=images,
    )

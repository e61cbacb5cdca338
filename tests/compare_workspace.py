"""A workspace of models to compare, for the API and browser tests of the compare view.

- ``VAE``: a copy of the session's tiny digits VAE (it has a decoder and reconstruction errors);
- ``EMBEDDINGS``: precomputed embeddings of the same 1,797 digits, same names in the same order
  (a fixed random projection of the pixels to 6 dimensions): no decoder, so no reconstruction
  error and no outliers; it aligns with ``VAE``;
- ``OTHER``: embeddings of 400 digits (``tests/decoderless.py``): another dataset;
- ``TWIN`` (``twin=True``): the VAE again (the same latents) with every map turned by
  ``TWIN_ANGLE``, scaled by ``TWIN_SCALE`` and moved by ``TWIN_SHIFT``: aligning it to the
  VAE must undo exactly that, and its neighbourhoods are the VAE's (its inverse maps are the
  VAE's, unturned: the compare page does not use them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from app.index.store import load_index, save_index
from app.services.embeddings import EmbeddingsImport, import_embeddings
from app.workspace import INDEX_DIR
from models.embeddings import EmbeddingsSource
from tests.decoderless import add_embeddings

VAE = "digits-vae-4"
EMBEDDINGS = "digits-pixels-6"
OTHER = "digits-400"
TWIN = "digits-vae-4-turned"
TWIN_ANGLE = 0.7  # radians
TWIN_SCALE = 0.5  # shrunk: float32 storage then loses less than it would when enlarged
TWIN_SHIFT = (0.25, -0.75)


def twin_transform(xy: np.ndarray) -> np.ndarray:
    """(N, 2) map positions -> the twin's: turned, scaled and shifted (float64)."""
    c, s = np.cos(TWIN_ANGLE), np.sin(TWIN_ANGLE)
    rotation = np.array([[c, s], [-s, c]])
    return TWIN_SCALE * np.asarray(xy, np.float64) @ rotation + np.array(TWIN_SHIFT)


def build_compare_workspace(
    root: Path, session_workspace: Path, *, other: bool = True, twin: bool = False
) -> Path:
    """Fill ``root`` with ``VAE``, ``EMBEDDINGS`` (and ``OTHER``, ``TWIN``); returns ``root``."""
    shutil.copytree(session_workspace / VAE, root / VAE)
    vae = load_index(root / VAE / INDEX_DIR)
    assert vae.images is not None and vae.labels is not None
    images = np.asarray(vae.images)
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0  # (N, 256)
    projection = np.random.default_rng(0).normal(size=(pixels.shape[1], 6)).astype(np.float32)
    source = EmbeddingsSource(
        vectors=pixels @ projection / 16.0,  # (N, 6)
        item_names=vae.item_names.copy(),
        labels=None,
        metadata={"digit": vae.metadata["digit"].copy()},
        images=images,
    )
    import_embeddings(EmbeddingsImport(source, label_field="digit"), root, EMBEDDINGS)
    if other:
        add_embeddings(root, OTHER, 400, with_images=False)
    if twin:
        add_twin(root)
    return root


def add_twin(root: Path) -> None:
    """``TWIN``: a copy of ``root``'s ``VAE`` whose maps are turned (``twin_transform``)."""
    shutil.copytree(root / VAE, root / TWIN)
    index = load_index(root / TWIN / INDEX_DIR)
    for projection in index.projections.values():
        turned = twin_transform(projection.embedding_).astype(np.float32)
        projection.embedding_ = turned
    save_index(index, root / TWIN / INDEX_DIR)

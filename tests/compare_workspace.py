"""A workspace of models to compare, for the API and browser tests of the compare view.

- ``VAE``: a copy of the session's tiny digits VAE (it has a decoder and reconstruction errors);
- ``EMBEDDINGS``: precomputed embeddings of the same 1,797 digits, same names in the same order
  (a fixed random projection of the pixels to 6 dimensions): no decoder, so no reconstruction
  error and no outliers; it aligns with ``VAE``;
- ``OTHER``: embeddings of 400 digits (``tests/decoderless.py``): another dataset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from app.index.store import load_index
from app.services.embeddings import EmbeddingsImport, import_embeddings
from app.workspace import INDEX_DIR
from models.embeddings import EmbeddingsSource
from tests.decoderless import add_embeddings

VAE = "digits-vae-4"
EMBEDDINGS = "digits-pixels-6"
OTHER = "digits-400"


def build_compare_workspace(root: Path, session_workspace: Path, *, other: bool = True) -> Path:
    """Fill ``root`` with ``VAE``, ``EMBEDDINGS`` (and ``OTHER``); returns ``root``."""
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
    return root

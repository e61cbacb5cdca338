"""The workspace index: built once, cached by key, read back identically without refitting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.index.ensure import ensure_index
from app.index.fitting import IndexParams, cache_key, cached_index
from app.index.store import load_index, read_manifest
from app.workspace import index_dir
from models.registry import load_checkpoint


@pytest.fixture(scope="module")
def loaded(workspace: Path, model_name: str):
    folder = workspace / model_name
    model, info = load_checkpoint(folder)
    return folder, model, info


def test_index_holds_every_item_with_latents_thumbnails_metadata_and_projections(loaded) -> None:
    folder, model, info = loaded
    index = load_index(index_dir(folder))
    n = 1797
    assert index.latents.shape == (n, 4) and index.latents.dtype == np.float32
    assert index.images.shape == (n, 1, 16, 16) and index.images.dtype == np.uint8
    assert index.errors.shape == (n,) and (index.errors >= 0).all()
    assert index.labels is not None and np.bincount(index.labels).tolist()[0] == 178
    assert index.label_field == "digit" and index.metadata["digit"][0] == "0"
    assert set(index.projections) == {"pca", "umap", "tsne"}
    for name, projection in index.projections.items():
        assert projection.embedding_.shape == (n, 2)
        # the inverse map sends an item's own 2D position back to (about) its latent
        xy = projection.embedding_[:50]
        back = index.inverses[name].transform(xy)
        unique = np.unique(projection.embedding_, axis=0, return_counts=True)
        if len(unique[0]) == n:  # no two items share a position
            np.testing.assert_allclose(back, index.latents[:50], atol=1e-4)
    # the stored latents are what the checkpoint encodes, bit for bit
    import torch

    from models.training import as_float

    with torch.inference_mode():
        z = model.encode(as_float(index.images[:64], torch.device("cpu"))).numpy()
    np.testing.assert_array_equal(z, index.latents[:64])


def test_quality_figures_are_stored(loaded) -> None:
    folder, _, _ = loaded
    quality = read_manifest(index_dir(folder))["quality"]
    assert 0 < quality["reconstruction_mse"] < 0.1
    assert 0.5 < quality["knn_accuracy"] <= 1.0  # tiny 4-epoch model; real targets: test_quality
    assert 0.9 < quality["knn_accuracy_pixels"] <= 1.0
    assert set(quality["trustworthiness"]) == {"pca", "umap", "tsne"}
    assert quality["trustworthiness"]["umap"] > quality["trustworthiness"]["pca"]


def test_reloading_reads_the_cache_and_does_not_refit(loaded, monkeypatch) -> None:
    folder, model, info = loaded
    before = (index_dir(folder) / "manifest.json").stat().st_mtime_ns

    def no_refit(*args, **kwargs):
        raise AssertionError("the index was rebuilt although its cache matches")

    monkeypatch.setattr("app.index.ensure.build_index", no_refit)
    index, built = ensure_index(folder, model, info, IndexParams())
    assert not built and len(index) == 1797
    assert (index_dir(folder) / "manifest.json").stat().st_mtime_ns == before


def test_the_cache_key_changes_with_weights_data_spec_and_parameters(loaded) -> None:
    _, _, info = loaded
    base = cache_key(info, IndexParams())
    assert cache_key(info, IndexParams(projection_params={"umap": {"n_neighbors": 30}})) != base
    assert cache_key(info, IndexParams(seed=1)) != base
    changed = type(info)(**{**info.__dict__, "weights_sha256": "0" * 64})
    assert cache_key(changed, IndexParams()) != base
    other_data = type(info)(**{**info.__dict__, "dataset": {**info.dataset, "size": 100}})
    assert cache_key(other_data, IndexParams()) != base
    assert cached_index(Path("/nonexistent"), info, IndexParams()) is None


def test_loading_a_cached_index_does_not_import_umap_numba_or_opentsne(
    workspace: Path, model_name
) -> None:
    code = (
        "import sys; from pathlib import Path;"
        "from app.index.store import load_index;"
        f"i = load_index(Path({str(workspace / model_name / 'index')!r}));"
        "i.inverses['umap'].transform(i.projections['umap'].embedding_[:3]);"
        "i.projections['umap'].transform(i.latents[:3]);"
        "i.projections['tsne'].transform(i.latents[:3]);"
        "print(json.dumps(['umap' in sys.modules, 'numba' in sys.modules,"
        " 'openTSNE' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [False, False, False]

"""t-SNE (app/index/tsne.py): quality on seeded data, stable placement, restore without openTSNE."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_swiss_roll

from app.index.fitting import IndexParams
from app.index.projection import PROJECTIONS, make_projection, projection_from_arrays
from app.index.quality import trustworthiness
from app.index.tsne import TSNEProjection
from models.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    Z, _ = make_blobs(600, n_features=12, centers=5, cluster_std=1.0, random_state=0)
    return Z.astype(np.float32)


@pytest.fixture(scope="module")
def swiss_roll() -> np.ndarray:
    """A curved 2D manifold in 12 dimensions (a random rotation of sklearn's swiss roll)."""
    X, _ = make_swiss_roll(800, noise=0.05, random_state=0)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(12, 12)))
    padded = np.zeros((len(X), 12))
    padded[:, :3] = X
    return (padded @ q).astype(np.float32)


@pytest.fixture(scope="module")
def tsne_roll(swiss_roll: np.ndarray) -> TSNEProjection:
    return TSNEProjection(seed=0, max_fit=300).fit(swiss_roll)


def test_tsne_is_registered_and_in_every_index_by_default() -> None:
    assert PROJECTIONS["tsne"] is TSNEProjection and TSNEProjection.label == "t-SNE"
    assert isinstance(make_projection("tsne", perplexity=10.0), TSNEProjection)
    params = IndexParams()
    assert "tsne" in params.projections
    assert params.params_for("tsne") == {
        "perplexity": 30.0,
        "n_neighbors": 15,
        "n_iter": 150,
        "early_exaggeration_iter": 100,
        "max_fit": 10_000,
        "seed": 0,
    }


def test_tsne_keeps_neighbourhoods(blobs: np.ndarray, swiss_roll: np.ndarray) -> None:
    fitted = TSNEProjection(seed=0).fit(blobs)
    assert fitted.embedding_.shape == (600, 2) and fitted.embedding_.dtype == np.float32
    assert trustworthiness(blobs, fitted.embedding_) >= 0.95  # 0.970 when written
    roll = TSNEProjection(seed=0).fit(swiss_roll)
    pca = make_projection("pca").fit(swiss_roll)
    tsne_trust = trustworthiness(swiss_roll, roll.embedding_)
    assert tsne_trust >= 0.98  # 0.999 when written; PCA folds the roll: 0.875
    assert tsne_trust > trustworthiness(swiss_roll, pca.embedding_) + 0.05


def test_tsne_on_a_sample_places_the_rest_like_uploads(
    swiss_roll: np.ndarray, tsne_roll: TSNEProjection
) -> None:
    n = len(swiss_roll)
    ids = tsne_roll.fit_indices_
    assert ids.shape == (300,) and np.all(np.diff(ids) > 0) and ids.max() < n
    # Seeded: the same sample and the same map, run after run.
    again = TSNEProjection(seed=0, max_fit=300).fit(swiss_roll)
    np.testing.assert_array_equal(again.embedding_, tsne_roll.embedding_)
    # The rest sit where `transform` puts any new latent; neighbourhoods survive.
    rest = np.setdiff1d(np.arange(n), ids)
    np.testing.assert_array_equal(tsne_roll.embedding_[rest], tsne_roll.transform(swiss_roll[rest]))
    assert trustworthiness(swiss_roll, tsne_roll.embedding_) >= 0.96  # 0.986 when written


def test_tsne_placement_is_stable_per_point(
    swiss_roll: np.ndarray, tsne_roll: TSNEProjection
) -> None:
    rng = np.random.default_rng(2)
    batch = swiss_roll[rng.integers(0, len(swiss_roll), 60)] + rng.normal(size=(60, 12)).astype(
        np.float32
    )
    placed = tsne_roll.transform(batch)
    assert placed.shape == (60, 2) and placed.dtype == np.float32
    for i in (0, 31, 59):  # alone, or in any batch: bit-identical
        np.testing.assert_array_equal(tsne_roll.transform(batch[i : i + 1])[0], placed[i])
    np.testing.assert_array_equal(tsne_roll.transform(batch[::-1])[::-1], placed)
    # A fitted latent lands on its own point.
    fitted = tsne_roll.fit_indices_[:20]
    np.testing.assert_array_equal(
        tsne_roll.transform(swiss_roll[fitted]), tsne_roll.embedding_[fitted]
    )


def test_tsne_round_trip_is_exact_and_never_imports_opentsne(
    swiss_roll: np.ndarray, tsne_roll: TSNEProjection, tmp_path: Path
) -> None:
    new = swiss_roll[:40] * 1.01
    restored = projection_from_arrays("tsne", _through_npz(tsne_roll.to_arrays()), swiss_roll)
    assert isinstance(restored, TSNEProjection)
    assert (restored.perplexity, restored.n_iter, restored.max_fit) == (30.0, 150, 300)
    np.testing.assert_array_equal(restored.embedding_, tsne_roll.embedding_)
    np.testing.assert_array_equal(restored.transform(new), tsne_roll.transform(new))

    np.savez(tmp_path / "proj.npz", allow_pickle=False, **tsne_roll.to_arrays())
    np.save(tmp_path / "latents.npy", swiss_roll, allow_pickle=False)
    script = """
import sys
import numpy as np
from app.index.projection import projection_from_arrays
with np.load("proj.npz", allow_pickle=False) as data:
    arrays = {k: data[k] for k in data.files}
proj = projection_from_arrays("tsne", arrays, np.load("latents.npy"))
proj.transform(np.load("latents.npy")[:5])
print("openTSNE" in sys.modules, "numba" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_few_latents_fit_with_a_lowered_perplexity(blobs: np.ndarray) -> None:
    # 21 latents, the fewest an embeddings import accepts: perplexity 30 is lowered to 20/3.
    few = TSNEProjection(seed=0).fit(blobs[:21])
    assert few.embedding_.shape == (21, 2) and np.isfinite(few.embedding_).all()


def test_validation_names_the_parameter(blobs: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="perplexity must be a positive number"):
        TSNEProjection(perplexity=0).fit(blobs)
    with pytest.raises(ConfigError, match="n_iter must be a non-negative integer"):
        TSNEProjection(n_iter=-1).fit(blobs)
    with pytest.raises(ConfigError, match="n_neighbors must be an integer from 2 to 9"):
        TSNEProjection(n_neighbors=10).fit(blobs[:10])
    with pytest.raises(ConfigError, match="allowed: perplexity, n_neighbors, n_iter"):
        make_projection("tsne", iterations=5)
    with pytest.raises(ConfigError, match="stored projection is 'pca', not 'tsne'"):
        projection_from_arrays("tsne", make_projection("pca").fit(blobs).to_arrays(), blobs)


def _through_npz(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Save and reload without pickle, as the index store does."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}

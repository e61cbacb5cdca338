"""PCA and UMAP projections: quality on seeded data, stable placement, restore without umap."""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_swiss_roll
from sklearn.decomposition import PCA

from app.index.projection import (
    PCAProjection,
    UMAPProjection,
    make_projection,
    projection_from_arrays,
)
from app.index.quality import trustworthiness
from models.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def rotate_into(X: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """Embed low-dimensional points in `dim` dimensions by a random rotation."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    padded = np.zeros((len(X), dim))
    padded[:, : X.shape[1]] = X
    return (padded @ q).astype(np.float32)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    Z, _ = make_blobs(600, n_features=12, centers=5, cluster_std=1.0, random_state=0)
    return Z.astype(np.float32)


@pytest.fixture(scope="module")
def swiss_roll() -> np.ndarray:
    """A curved 2D manifold in 12 dimensions: PCA folds its layers onto each other."""
    X, _ = make_swiss_roll(800, noise=0.05, random_state=0)
    return rotate_into(X, 12, seed=0)


@pytest.fixture(scope="module")
def umap_blobs(blobs: np.ndarray) -> UMAPProjection:
    return UMAPProjection(n_neighbors=15, min_dist=0.1, seed=0).fit(blobs)


def test_pca_reproduces_sklearn_up_to_sign(blobs: np.ndarray) -> None:
    ours = PCAProjection(seed=0).fit(blobs)
    theirs = PCA(n_components=2).fit(blobs)
    signs = np.sign((ours.components_ * theirs.components_).sum(axis=1))  # (2,) +-1
    np.testing.assert_allclose(ours.components_, theirs.components_ * signs[:, None], atol=1e-5)
    np.testing.assert_allclose(ours.embedding_, theirs.transform(blobs) * signs, atol=1e-3)
    new = np.random.default_rng(1).normal(size=(20, 12)).astype(np.float32) * 5
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new) * signs, atol=1e-3)
    assert ours.embedding_.dtype == np.float32 and ours.embedding_.shape == (600, 2)


def test_pca_of_few_wide_latents_is_exact_without_a_dxd_matrix() -> None:
    # 40 embeddings of 4096 dimensions: a D x D covariance would be 128 MB (and its
    # decomposition tens of seconds); the N x N Gram matrix gives the same axes.
    rng = np.random.default_rng(0)
    Z = (rng.normal(size=(40, 3)) * [9.0, 4.0, 1.0]) @ rng.normal(size=(3, 4096))
    Z = (Z + rng.normal(scale=0.01, size=Z.shape)).astype(np.float32)  # (40, 4096)
    tracemalloc.start()
    try:
        ours = PCAProjection().fit(Z)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # the data in float64 is 1.3 MB; a D x D matrix alone is 128
    theirs = PCA(n_components=2, svd_solver="full").fit(Z.astype(np.float64))
    signs = np.sign((ours.components_ * theirs.components_).sum(axis=1))  # (2,) +-1
    np.testing.assert_allclose(ours.components_, theirs.components_ * signs[:, None], atol=1e-6)
    np.testing.assert_allclose(ours.embedding_, theirs.transform(Z) * signs, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ours.components_ @ ours.components_.T, np.eye(2), atol=1e-12)


def test_pca_of_two_latents_still_has_two_orthonormal_axes() -> None:
    # One direction of variance only: the second axis is any unit vector orthogonal to it.
    Z = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 2.0, 1.0, 4.0, 7.0]], dtype=np.float32)
    pca = PCAProjection().fit(Z)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(2), atol=1e-12)
    direction = (Z[1] - Z[0]) / np.linalg.norm(Z[1] - Z[0])
    assert abs(pca.components_[0] @ direction) == pytest.approx(1.0)
    np.testing.assert_allclose(pca.embedding_[:, 1], 0.0, atol=1e-6)
    assert np.isfinite(pca.transform(np.ones((3, 5)))).all()


def test_umap_keeps_neighbourhoods_better_than_pca_on_a_curved_manifold(
    blobs: np.ndarray, umap_blobs: UMAPProjection, swiss_roll: np.ndarray
) -> None:
    assert umap_blobs.embedding_.shape == (600, 2) and umap_blobs.embedding_.dtype == np.float32
    assert trustworthiness(blobs, umap_blobs.embedding_) >= 0.9
    umap_roll = make_projection("umap", seed=0).fit(swiss_roll)
    pca_roll = make_projection("pca", seed=0).fit(swiss_roll)
    umap_trust = trustworthiness(swiss_roll, umap_roll.embedding_)
    pca_trust = trustworthiness(swiss_roll, pca_roll.embedding_)
    assert umap_trust >= 0.97
    assert umap_trust > pca_trust + 0.05


def test_umap_placement_is_stable_and_local(blobs: np.ndarray, umap_blobs: UMAPProjection) -> None:
    rng = np.random.default_rng(2)
    batch = blobs[rng.integers(0, len(blobs), 100)] + rng.normal(size=(100, 12)).astype(np.float32)
    placed = umap_blobs.transform(batch)
    assert placed.shape == (100, 2) and placed.dtype == np.float32
    for i in (0, 17, 99):  # alone, or in any batch: bit-identical
        np.testing.assert_array_equal(umap_blobs.transform(batch[i : i + 1])[0], placed[i])
    np.testing.assert_array_equal(umap_blobs.transform(batch[::-1])[::-1], placed)

    # Independent check of the rule: 1/d^2 weighted mean of the 15 nearest training points.
    d = np.linalg.norm(blobs[None].astype(np.float64) - batch[:, None], axis=2)  # (100, 600)
    nearest = np.argsort(d, axis=1)[:, :15]
    w = 1.0 / np.take_along_axis(d, nearest, axis=1) ** 2
    expected = np.einsum("mk,mkc->mc", w, umap_blobs.embedding_[nearest]) / w.sum(1)[:, None]
    np.testing.assert_allclose(placed, expected, atol=1e-4)

    # A training latent lands on its own point; a nudged one right beside it.
    np.testing.assert_array_equal(umap_blobs.transform(blobs[:50]), umap_blobs.embedding_[:50])
    nudged = umap_blobs.transform(blobs[:50] + 1e-3)
    extent = np.ptp(umap_blobs.embedding_, axis=0).max()
    assert np.abs(nudged - umap_blobs.embedding_[:50]).max() < 0.01 * extent


def test_pca_round_trip_is_exact(blobs: np.ndarray) -> None:
    fitted = make_projection("pca").fit(blobs)
    restored = projection_from_arrays("pca", _through_npz(fitted.to_arrays()), blobs)
    assert isinstance(restored, PCAProjection)
    new = blobs[:30] * 1.5
    np.testing.assert_array_equal(restored.transform(new), fitted.transform(new))
    np.testing.assert_array_equal(restored.embedding_, fitted.embedding_)


def test_umap_round_trip_is_exact_and_never_imports_umap(
    blobs: np.ndarray, umap_blobs: UMAPProjection, tmp_path: Path
) -> None:
    new = blobs[:40] + 0.5
    np.savez(tmp_path / "proj.npz", allow_pickle=False, **umap_blobs.to_arrays())
    np.save(tmp_path / "latents.npy", blobs, allow_pickle=False)
    np.save(tmp_path / "new.npy", new, allow_pickle=False)
    script = """
import sys
import numpy as np
from app.index.projection import projection_from_arrays
with np.load("proj.npz", allow_pickle=False) as data:
    arrays = {k: data[k] for k in data.files}
proj = projection_from_arrays("umap", arrays, np.load("latents.npy"))
np.save("placed.npy", proj.transform(np.load("new.npy")), allow_pickle=False)
print("umap" in sys.modules, "numba" in sys.modules)
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
    np.testing.assert_array_equal(np.load(tmp_path / "placed.npy"), umap_blobs.transform(new))


def test_validation_names_allowed_values(blobs: np.ndarray) -> None:
    with pytest.raises(
        ConfigError, match="projection must be one of pca, umap, tsne; got 'isomap'"
    ):
        make_projection("isomap")
    with pytest.raises(ConfigError, match="allowed: n_neighbors, min_dist, seed, max_fit"):
        make_projection("umap", neighbours=5)
    with pytest.raises(ConfigError, match="n_neighbors must be an integer from 2 to 9"):
        UMAPProjection(n_neighbors=10).fit(blobs[:10])
    with pytest.raises(ConfigError, match=r"max_fit must be None or an integer above n_neighbors"):
        UMAPProjection(n_neighbors=15, max_fit=15).fit(blobs)
    with pytest.raises(ConfigError, match="min_dist must be a number from 0 to 1"):
        UMAPProjection(min_dist=2.0).fit(blobs)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        PCAProjection(seed=-1).fit(blobs)
    fitted = PCAProjection().fit(blobs)
    with pytest.raises(ConfigError, match=r"Z_new must have shape \(N, 12\)"):
        fitted.transform(blobs[:, :5])
    with pytest.raises(ConfigError, match="stored projection is 'pca', not 'umap'"):
        projection_from_arrays("umap", fitted.to_arrays(), blobs)


def test_umap_on_a_sample_places_the_rest_like_uploads(
    swiss_roll: np.ndarray, tmp_path: Path
) -> None:
    sampled = UMAPProjection(seed=0, max_fit=300).fit(swiss_roll)
    n = len(swiss_roll)
    ids = sampled.fit_indices_
    assert ids.shape == (300,) and np.all(np.diff(ids) > 0) and ids.max() < n
    assert sampled.embedding_.shape == (n, 2) and np.isfinite(sampled.embedding_).all()
    # The fitted sample is exactly UMAP's map of those latents, seed for seed.
    alone = UMAPProjection(seed=0).fit(swiss_roll[ids])
    np.testing.assert_array_equal(sampled.embedding_[ids], alone.embedding_)
    # The rest sit where `transform` puts any new latent, alone or in a batch.
    rest = np.setdiff1d(np.arange(n), ids)
    np.testing.assert_array_equal(sampled.embedding_[rest], alone.transform(swiss_roll[rest]))
    np.testing.assert_array_equal(
        sampled.embedding_[rest[:1]], sampled.transform(swiss_roll[rest[:1]])
    )
    # Neighbourhoods survive: close to a full fit on this curved manifold.
    full = trustworthiness(swiss_roll, UMAPProjection(seed=0).fit(swiss_roll).embedding_)
    assert trustworthiness(swiss_roll, sampled.embedding_) >= full - 0.03
    # Restoring keeps the sample: placements after a round trip are bit-identical.
    restored = projection_from_arrays("umap", _through_npz(sampled.to_arrays()), swiss_roll)
    assert isinstance(restored, UMAPProjection) and restored.max_fit == 300
    new = swiss_roll[:25] * 1.01
    np.testing.assert_array_equal(restored.transform(new), sampled.transform(new))


def test_a_restored_sample_with_bad_ids_is_refused(swiss_roll: np.ndarray) -> None:
    arrays = UMAPProjection(seed=0, max_fit=300).fit(swiss_roll).to_arrays()
    arrays["fit_indices"] = arrays["fit_indices"][::-1]
    with pytest.raises(ConfigError, match="fit_indices must be sorted distinct ids from 0 to 799"):
        projection_from_arrays("umap", arrays, swiss_roll)


def _through_npz(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Save and reload without pickle, as the index store does."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_large_samples_place_by_approximate_neighbours_stably(
    monkeypatch: pytest.MonkeyPatch, swiss_roll: np.ndarray
) -> None:
    import app.index.projection_base as projection_module
    from app.index.ann import ApproxNeighborIndex

    monkeypatch.setattr(projection_module, "APPROX_PLACEMENT_MIN", 200)
    approx = UMAPProjection(seed=0, max_fit=300).fit(swiss_roll)
    assert isinstance(approx._index, ApproxNeighborIndex)
    new = swiss_roll[::7] + 0.01
    batch = approx.transform(new)
    for i in range(0, len(new), 9):  # alone or in a batch: the same position, bit for bit
        np.testing.assert_array_equal(approx.transform(new[i : i + 1])[0], batch[i])
    exact = UMAPProjection(seed=0, max_fit=300)
    monkeypatch.setattr(projection_module, "APPROX_PLACEMENT_MIN", 10**9)
    exact.fit(swiss_roll)
    # Same sample, same UMAP map; the placements agree where the found neighbours agree.
    np.testing.assert_array_equal(
        exact.embedding_[exact.fit_indices_], approx.embedding_[approx.fit_indices_]
    )
    extent = np.ptp(exact.embedding_, axis=0).max()
    close = np.abs(approx.transform(new) - exact.transform(new)).max(axis=1) < 0.01 * extent
    assert close.mean() >= 0.9

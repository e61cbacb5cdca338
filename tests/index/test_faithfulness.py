"""Faithfulness of a map per item: known answers, exact and approximate latent search, and the
index that stores it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.index import faithfulness as faith
from app.index.faithfulness import item_faithfulness, mean_faithfulness, shared_counts
from app.index.fitting import IndexParams, index_latents
from app.index.quality import neighbor_preservation
from app.index.store import load_index, save_index
from models.data.items import ItemColumns
from models.errors import ConfigError


@pytest.fixture(scope="module")
def plane() -> np.ndarray:
    """600 random 2-D latents: no two pairs at the same distance, so no ties."""
    return np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)


def test_the_identity_map_keeps_every_neighbourhood(plane: np.ndarray) -> None:
    values = item_faithfulness(plane, {"same": plane, "moved": plane * 3.0 + 7.0})
    for name in ("same", "moved"):  # scaling and shifting change no neighbourhood
        assert values[name].dtype == np.float32 and values[name].shape == (600,)
        np.testing.assert_array_equal(values[name], np.ones(600, np.float32))


def test_a_shuffled_map_keeps_about_k_over_n(plane: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    values = item_faithfulness(plane, {"shuffled": rng.permutation(plane)})["shuffled"]
    # each of the 10 latent neighbours is among the 10 map neighbours with chance 10 / 599
    assert values.mean() == pytest.approx(10 / 599, abs=0.006)
    assert values.max() <= 0.3


def test_a_map_that_tears_the_plane_in_two(plane: np.ndarray) -> None:
    # Items right of x = 0 move far up. An item keeps, on the map, exactly its latent
    # neighbours on its own side (its 10 map neighbours are the 10 nearest on that side), so
    # its faithfulness is the share of its latent neighbours that did not cross the cut.
    right = plane[:, 0] > 0
    torn = plane.copy()
    torn[right, 1] += 100.0
    values = item_faithfulness(plane, {"torn": torn})["torn"]
    d = ((plane[:, None, :].astype(np.float64) - plane[None, :, :]) ** 2).sum(-1)  # (N, N)
    np.fill_diagonal(d, np.inf)
    latent_nn = np.argsort(d, axis=1)[:, :10]  # brute force
    same_side = (right[latent_nn] == right[:, None]).sum(axis=1)
    np.testing.assert_allclose(values, same_side / 10, atol=1e-6)
    assert (values < 1).sum() > 20  # the cut tears real neighbourhoods
    assert (values == 1).mean() > 0.8  # and only near the cut


def test_hand_computed_k1() -> None:
    # The map swaps items 2 and 3: item 4's nearest latent neighbour (3) is no longer its
    # nearest on the map (2 is); every other item keeps its nearest.
    z = np.array([[0.0, 0], [1.0, 0], [10.0, 0], [12.0, 0], [20.0, 0]])
    xy = np.array([[0.0, 0], [1.0, 0], [12.0, 0], [10.0, 0], [20.0, 0]])
    np.testing.assert_array_equal(item_faithfulness(z, {"m": xy}, k=1)["m"], [1, 1, 1, 1, 0])


def test_duplicates_still_count_k(plane: np.ndarray) -> None:
    # Three copies of item 0: each ties with the others at distance 0 and may not find itself
    # first, yet leaves only itself out and keeps the other two. (An item with the copies at
    # the edge of its list may pick either: a tie the two searches may break differently.)
    dup = np.vstack([plane, plane[:1], plane[:1]])
    values = item_faithfulness(dup, {"m": dup}, k=5)["m"]
    np.testing.assert_array_equal(values[[0, 600, 601]], 1.0)
    assert values.mean() > 0.99
    assert not (faith.latent_neighbours(dup, 5) == np.arange(602)[:, None]).any()


def test_latent_neighbours_are_found_once_for_every_projection(
    plane: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = faith.latent_neighbours

    def counted(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(faith, "latent_neighbours", counted)
    values = item_faithfulness(plane, {"a": plane, "b": plane[::-1], "c": -plane})
    assert len(calls) == 1 and set(values) == {"a", "b", "c"}


def test_approximate_latent_search_agrees_with_exact() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(12, 8)) * 4
    z = (centres[rng.integers(0, 12, 4000)] + rng.normal(size=(4000, 8))).astype(np.float32)
    xy = z[:, :2] + rng.normal(size=(4000, 2)).astype(np.float32) * 0.3
    exact = item_faithfulness(z, {"m": xy})["m"]
    approx = item_faithfulness(z, {"m": xy}, exact_max_items=1000)["m"]  # FAISS IVF
    # The index is calibrated to recall@10 >= 0.97, so the figures barely move.
    assert abs(float(approx.mean()) - float(exact.mean())) < 0.01
    assert np.mean(approx == exact) > 0.9
    assert 0.05 < exact.mean() < 0.9  # a partly faithful map: the comparison means something
    exact_nn = faith.latent_neighbours(z, 10)
    approx_nn = faith.latent_neighbours(z, 10, exact_max_items=1000)
    assert shared_counts(exact_nn, approx_nn).sum() / exact_nn.size >= 0.97
    assert not (approx_nn == np.arange(4000)[:, None]).any()  # never its own neighbour


def test_validation(plane: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="k must be an integer from 1 to 599"):
        item_faithfulness(plane, {"m": plane}, k=600)
    with pytest.raises(ConfigError, match=r"map 'm' must have shape \(600, 2\)"):
        item_faithfulness(plane, {"m": plane[:10]})
    with pytest.raises(ConfigError, match="N >= 2"):
        item_faithfulness(plane[:1], {"m": plane[:1]})


def small_index(latents: np.ndarray) -> ItemColumns:
    n = len(latents)
    return ItemColumns(
        item_names=np.array([f"item-{i}" for i in range(n)]),
        latents=latents,
        errors=np.linspace(0.0, 1.0, n, dtype=np.float32),
    )


def test_index_stores_faithfulness_and_reads_it_back(plane: np.ndarray, tmp_path: Path) -> None:
    # PCA of 2-D latents is a rotation: the map keeps every neighbourhood.
    params = IndexParams(projections=("pca",))
    index = index_latents(small_index(plane), params, key="k", data_sha256="d")
    np.testing.assert_array_equal(index.faithfulness["pca"], np.ones(600, np.float32))
    assert index.quality["faithfulness"] == {"pca": 1.0}
    assert index.timings["faithfulness"] >= 0.0
    save_index(index, tmp_path / "index")
    back = load_index(tmp_path / "index")
    np.testing.assert_array_equal(back.faithfulness["pca"], index.faithfulness["pca"])
    assert back.quality["faithfulness"] == {"pca": 1.0}
    with np.load(tmp_path / "index" / "projection-pca.npz", allow_pickle=False) as data:
        assert data["faithfulness"].dtype == np.float32


def test_index_faithfulness_mean_is_the_mean_of_the_items(tmp_path: Path) -> None:
    z = np.random.default_rng(3).normal(size=(300, 6)).astype(np.float32)
    index = index_latents(small_index(z), IndexParams(projections=("pca",)), key="", data_sha256="")
    values = index.faithfulness["pca"]
    # the same as the plain k-d tree measure in app/index/quality.py, on the stored map
    embedding = index.projections["pca"].embedding_
    np.testing.assert_allclose(values, neighbor_preservation(z, embedding, k=10), atol=1e-6)
    assert 0.1 < values.mean() < 0.9  # 6 isotropic dimensions flattened to 2: partly kept
    assert index.quality["faithfulness"]["pca"] == pytest.approx(float(values.mean()))
    assert mean_faithfulness({"pca": values}) == index.quality["faithfulness"]

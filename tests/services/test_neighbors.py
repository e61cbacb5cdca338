"""Nearest items without HTTP: ids and distances equal a brute-force search."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.loaded import LoadedModel
from app.services.neighbors import find_neighbors, search_neighbors
from app.services.refs import Ref
from models.errors import LatentExplorerError


def brute_force(latents: np.ndarray, z: np.ndarray, k: int, skip: int | None) -> np.ndarray:
    d = np.linalg.norm(latents.astype(np.float64) - z.astype(np.float64), axis=1)  # (N,)
    if skip is not None:
        d[skip] = np.inf
    return np.argsort(d, kind="stable")[:k]


def test_an_item_is_not_its_own_neighbor_and_ids_match_brute_force(m: LoadedModel) -> None:
    found = find_neighbors(m, Ref(id=12), 10, "euclidean")
    assert 12 not in found.ids
    assert found.exact and found.metric == "euclidean"
    expected = brute_force(m.index.latents, m.index.latents[12], 10, skip=12)
    assert set(found.ids) == set(expected.tolist())
    assert found.distances == sorted(found.distances)
    direct = np.linalg.norm(m.index.latents[found.ids] - m.index.latents[12], axis=1)
    np.testing.assert_allclose(found.distances, direct, rtol=1e-4, atol=1e-5)


def test_cosine_distances_are_one_minus_cosine_similarity(m: LoadedModel) -> None:
    z = m.index.latents[3]
    found = search_neighbors(m, z, 5, "cosine")
    rows = m.index.latents[found.ids].astype(np.float64)
    cosine = rows @ z / (np.linalg.norm(rows, axis=1) * np.linalg.norm(z))
    np.testing.assert_allclose(found.distances, 1.0 - cosine, atol=1e-5)


@pytest.mark.parametrize(
    ("k", "metric", "code"), [(0, "euclidean", "bad_k"), (5, "manhattan", "bad_metric")]
)
def test_bad_k_and_metric_are_422(m: LoadedModel, k: int, metric: str, code: str) -> None:
    with pytest.raises(LatentExplorerError) as caught:
        search_neighbors(m, m.index.latents[0], k, metric)
    assert (caught.value.status, caught.value.code) == (422, code)


def test_the_search_is_built_once_per_metric(m: LoadedModel) -> None:
    first = m.neighbor_index("euclidean")
    search_neighbors(m, m.index.latents[0], 3)
    assert m.neighbor_index("euclidean") is first

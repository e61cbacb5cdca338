"""POST /neighbors: exact k nearest items, checked against a brute-force numpy scan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import brute_force_neighbours


def neighbours(client: TestClient, api: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{api}/neighbors", json=body)
    assert response.status_code == 200, response.text[:300]
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("item_id", [0, 777, 1796])
def test_neighbours_of_an_item_match_brute_force_and_leave_it_out(
    client: TestClient, api: str, index: LatentIndex, metric: str, item_id: int
) -> None:
    result = neighbours(client, api, id=item_id, k=25, metric=metric)
    assert result["metric"] == metric
    assert item_id not in result["ids"]
    ids, dist = brute_force_neighbours(
        index.latents, index.latents[item_id], 25, metric, exclude=item_id
    )
    assert result["ids"] == ids.tolist()
    np.testing.assert_allclose(result["distances"], dist, atol=1e-6)
    assert result["distances"] == sorted(result["distances"])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_neighbours_of_a_latent_match_brute_force(
    client: TestClient, api: str, index: LatentIndex, metric: str
) -> None:
    query = [0.1, -0.2, 0.9, 0.05]
    result = neighbours(client, api, latent=query, k=10, metric=metric)
    ids, dist = brute_force_neighbours(index.latents, np.float32(query), 10, metric)
    assert result["ids"] == ids.tolist()
    np.testing.assert_allclose(result["distances"], dist, atol=1e-6)


def test_a_dataset_latent_finds_its_own_item_first(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    # Given as a latent rather than an id, nothing is excluded: the item is at distance 0.
    result = neighbours(client, api, latent=index.latents[123].tolist(), k=3)
    assert result["ids"][0] == 123
    assert result["distances"][0] == pytest.approx(0.0, abs=1e-6)


def test_neighbours_of_a_map_point_are_those_of_the_latent_there(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    point = [float(v) for v in index.projections["umap"].embedding_[64]]
    result = neighbours(client, api, point=point, projection="umap", k=5)
    # The inverse map gives item 64's own latent at its own spot, and nothing is excluded.
    assert result["ids"][0] == 64
    ids, _ = brute_force_neighbours(index.latents, index.latents[64], 5, "euclidean")
    assert result["ids"] == ids.tolist()


@pytest.mark.parametrize("k", [1, 1000])
def test_k_runs_from_1_to_1000(client: TestClient, api: str, index: LatentIndex, k: int) -> None:
    result = neighbours(client, api, id=4, k=k)
    assert len(result["ids"]) == len(result["distances"]) == k
    assert len(set(result["ids"])) == k
    ids, _ = brute_force_neighbours(index.latents, index.latents[4], k, "euclidean", exclude=4)
    assert result["ids"] == ids.tolist()


def test_k_defaults_to_10_and_the_metric_to_euclidean(client: TestClient, api: str) -> None:
    result = neighbours(client, api, id=4)
    assert len(result["ids"]) == 10
    assert result["metric"] == "euclidean"

"""Embeddings as wide as an import allows (MAX_EMBEDDING_DIM): requests carrying a raw latent
of that length are served, one value longer is a 422 naming the limit."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.services.embeddings import EmbeddingsImport, import_embeddings
from models.embeddings import MAX_EMBEDDING_DIM, EmbeddingsSource
from tests.api.helpers import assert_error, brute_force_neighbours, serving

N = 40  # few rows, many dimensions: the index must not build a D x D matrix
NAME = "wide"


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(N, MAX_EMBEDDING_DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory, vectors: np.ndarray) -> Iterator[TestClient]:
    """A client of an app serving one entry of N embeddings of MAX_EMBEDDING_DIM dimensions."""
    workspace = tmp_path_factory.mktemp("wide")
    names = np.array([f"doc-{i}" for i in range(N)])
    source = EmbeddingsSource(vectors, names, labels=None, metadata={}, images=None)
    import_embeddings(EmbeddingsImport(source), workspace, NAME)
    with serving(workspace) as client:
        yield client


def test_a_raw_latent_of_the_full_width_is_served(wide: TestClient, vectors: np.ndarray) -> None:
    # Before, MAX_LATENT was 1024: such an entry imported, and every raw latent was a 422.
    assert wide.get(f"/api/models/{NAME}").json()["latent_dim"] == MAX_EMBEDDING_DIM
    query = vectors[3] + np.float32(0.01)
    response = wide.post(f"/api/models/{NAME}/neighbors", json={"latent": query.tolist(), "k": 5})
    assert response.status_code == 200, response.text[:300]
    ids, _ = brute_force_neighbours(vectors, query, 5, "euclidean")
    assert response.json()["ids"] == ids.tolist()
    term = {"vector": (vectors[7] - vectors[3]).tolist(), "weight": 1.0}
    body = {"start": {"id": 3}, "terms": [term], "k": 3}
    placed = wide.post(f"/api/models/{NAME}/arithmetic", json=body)
    assert placed.status_code == 200, placed.text[:300]
    assert placed.json()["nearest_id"] == 7


def test_one_value_past_the_width_is_a_422_naming_it(wide: TestClient) -> None:
    latent = [0.0] * (MAX_EMBEDDING_DIM + 1)
    response = wide.post(f"/api/models/{NAME}/neighbors", json={"latent": latent})
    assert str(MAX_EMBEDDING_DIM) in assert_error(response, 422, "invalid_input")
    body = {"start": {"id": 0}, "terms": [{"vector": latent}]}
    response = wide.post(f"/api/models/{NAME}/arithmetic", json=body)
    assert str(MAX_EMBEDDING_DIM) in assert_error(response, 422, "invalid_input")

"""The topology and compare views on the shapes model (the other parts have their own shapes
tests beside their digits ones): the same checks against scipy as on digits, at shapes' size."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.cluster.hierarchy import linkage

from app.index.store import LatentIndex
from tests.conftest import SHAPES_MODEL

API = f"/api/models/{SHAPES_MODEL}"


def test_topology_of_the_shapes_latents(
    shapes_client: TestClient, shapes_index: LatentIndex
) -> None:
    body = shapes_client.get(f"{API}/topology").json()
    n = len(shapes_index)
    assert body["n_items"] == n == 400 and body["n_landmarks"] == n  # under 2,000: every item
    landmarks = np.asarray(body["landmark_ids"])
    deaths = np.array([d for _, d in body["h0"][:-1]])
    heights = np.sort(linkage(shapes_index.latents[landmarks].astype(np.float64), "single")[:, 2])
    np.testing.assert_allclose(deaths, heights, rtol=1e-4, atol=1e-5)
    assert [c["label"] for c in body["classes"]] == list(shapes_index.label_names)
    # the last merge splits every item into two groups
    last = len(body["h0"]) - 2
    groups = shapes_client.get(f"{API}/topology/h0/{last}").json()["groups"]
    assert sorted(groups[0] + groups[1]) == list(range(n))


@pytest.mark.parametrize("projection", ["umap", "pca"])
def test_the_shapes_map_aligned_to_itself_stays_put(
    shapes_client: TestClient, shapes_index: LatentIndex, projection: str
) -> None:
    params = {"reference": SHAPES_MODEL, "model": SHAPES_MODEL, "projection": projection}
    body = shapes_client.get("/api/compare/align", params=params).json()
    aligned = np.column_stack([body["x"], body["y"]])
    assert np.abs(aligned - shapes_index.projections[projection].embedding_).max() < 1e-5
    assert body["scale"] == pytest.approx(1.0) and body["disparity"] < 1e-10


def test_shapes_neighbourhoods_against_themselves_do_not_change(shapes_client: TestClient) -> None:
    params = {"reference": SHAPES_MODEL, "model": SHAPES_MODEL}
    body = shapes_client.get("/api/compare/change", params=params).json()
    assert body["n_items"] == 400 and body["change"] == [0.0] * 400 and body["mean"] == 0.0
    table = shapes_client.get("/api/compare/table", params={"models": SHAPES_MODEL}).json()
    assert table["models"] == [SHAPES_MODEL] and table["n_items"] == 400
    figures = {row["key"]: row["values"] for row in table["figures"]}
    assert all(len(values) == 1 for values in figures.values()) and figures

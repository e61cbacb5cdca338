"""POST /interpolate: lerp and slerp paths between ids, latents and points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import png_pixels


def interpolate(client: TestClient, api: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{api}/interpolate", json=body)
    assert response.status_code == 200, response.text[:300]
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("method", ["lerp", "slerp"])
@pytest.mark.parametrize("steps", [2, 7, 64])
def test_a_path_between_items_starts_and_ends_exactly_on_them(
    client: TestClient,
    api: str,
    index: LatentIndex,
    decode_reference: Any,
    method: str,
    steps: int,
) -> None:
    path = interpolate(client, api, start={"id": 3}, end={"id": 1500}, steps=steps, method=method)
    assert path["method"] == method
    assert path["projection"] == "umap"
    latents = np.asarray(path["latents"])
    assert latents.shape == (steps, 4)
    assert np.isfinite(latents).all()
    np.testing.assert_array_equal(np.float32(latents[0]), index.latents[3])
    np.testing.assert_array_equal(np.float32(latents[-1]), index.latents[1500])
    positions = np.asarray(path["positions"])
    assert positions.shape == (steps, 2)
    np.testing.assert_allclose(positions, index.projections["umap"].transform(latents), atol=1e-4)
    assert len(path["images"]) == steps
    rendered = np.stack([png_pixels(image) for image in path["images"]]).astype(int)
    assert np.abs(rendered - decode_reference(latents)).max() <= 1


def test_the_lerp_midpoint_is_the_mean(client: TestClient, api: str, index: LatentIndex) -> None:
    path = interpolate(client, api, start={"id": 10}, end={"id": 20}, steps=3, method="lerp")
    mean = (index.latents[10].astype(np.float64) + index.latents[20]) / 2
    np.testing.assert_allclose(path["latents"][1], mean, atol=1e-6)


def test_lerp_steps_are_evenly_spaced(client: TestClient, api: str) -> None:
    start, end = [0.0, 0.0, 0.0, 0.0], [1.0, -2.0, 4.0, 0.5]
    path = interpolate(
        client, api, start={"latent": start}, end={"latent": end}, steps=5, method="lerp"
    )
    expected = np.linspace(0, 1, 5)[:, None] * np.asarray(end)
    np.testing.assert_allclose(path["latents"], expected, atol=1e-6)


def test_slerp_of_opposite_latents_is_finite_and_keeps_the_norm(
    client: TestClient, api: str
) -> None:
    start, end = [1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]
    path = interpolate(
        client, api, start={"latent": start}, end={"latent": end}, steps=9, method="slerp"
    )
    latents = np.asarray(path["latents"])
    assert np.isfinite(latents).all()
    assert latents[0].tolist() == start and latents[-1].tolist() == end
    np.testing.assert_allclose(np.linalg.norm(latents, axis=1), 1.0, atol=1e-6)
    assert len(path["images"]) == 9


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_a_path_from_a_point_to_itself_stays_put(client: TestClient, api: str, method: str) -> None:
    same = {"latent": [0.25, 0.5, -0.75, 1.0]}
    path = interpolate(client, api, start=same, end=same, steps=4, method=method)
    assert path["latents"] == [same["latent"]] * 4
    assert len(set(path["images"])) == 1


def test_endpoints_may_be_points_and_the_path_drawn_on_pca(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    x, y = (float(v) for v in index.projections["pca"].embedding_[42])
    path = interpolate(
        client,
        api,
        start={"point": [x, y], "projection": "pca"},
        end={"id": 43},
        steps=4,
        projection="pca",
    )
    assert path["projection"] == "pca"
    assert path["method"] == "slerp"  # the default
    np.testing.assert_allclose(path["latents"][0], index.latents[42], atol=1e-6)
    np.testing.assert_allclose(path["positions"][0], [x, y], atol=1e-5)
    np.testing.assert_allclose(
        path["positions"][-1], index.projections["pca"].embedding_[43], atol=1e-5
    )

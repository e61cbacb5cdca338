"""POST /decode: a latent, a 2D point or a dataset id in, an image and positions out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import png_pixels


def decode(client: TestClient, api: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{api}/decode", json=body)
    assert response.status_code == 200, response.text[:300]
    result: dict[str, Any] = response.json()
    assert result["neighbours"] is None
    return result


def test_a_latent_decodes_to_the_models_image(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    latent = [0.5, -0.25, 1.0, 0.125]  # exact in float32, so it comes back unchanged
    result = decode(client, api, {"latent": latent})
    assert result["latent"] == latent
    expected = decode_reference(np.array([latent]))[0]
    assert np.abs(png_pixels(result["image"]).astype(int) - expected).max() <= 1
    for name in ("umap", "pca", "tsne"):
        place = index.projections[name].transform(np.array([latent]))[0]
        np.testing.assert_allclose(result["positions"][name], place, atol=1e-5)


@pytest.mark.parametrize("item_id", [0, 333, 1796])
def test_an_id_decodes_its_stored_latent(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any, item_id: int
) -> None:
    result = decode(client, api, {"id": item_id})
    np.testing.assert_array_equal(np.float32(result["latent"]), index.latents[item_id])
    # A dataset latent is placed exactly on its own item on both maps.
    for name in ("umap", "pca", "tsne"):
        own = index.projections[name].embedding_[item_id]
        np.testing.assert_allclose(result["positions"][name], own, atol=1e-5)
    expected = decode_reference(index.latents[item_id][None])[0]
    assert np.abs(png_pixels(result["image"]).astype(int) - expected).max() <= 1


@pytest.mark.parametrize("projection", ["umap", "pca", "tsne"])
def test_the_inverse_map_is_exact_at_data_points(
    client: TestClient, api: str, index: LatentIndex, projection: str
) -> None:
    embedding = index.projections[projection].embedding_
    _, first, counts = np.unique(embedding, axis=0, return_index=True, return_counts=True)
    alone = first[counts == 1]  # items no other item shares a spot with
    for item_id in alone[:: len(alone) // 5][:5]:
        x, y = (float(v) for v in embedding[item_id])
        result = decode(client, api, {"point": [x, y], "projection": projection})
        np.testing.assert_allclose(result["latent"], index.latents[item_id], atol=1e-6)
        # The position reported is the point asked for, not a re-projection of the latent.
        assert result["positions"][projection] == [x, y]


def test_a_point_between_items_blends_their_latents(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    pca = index.projections["pca"].embedding_
    a, b = pca[0].astype(np.float64), pca[1].astype(np.float64)
    mid = (a + b) / 2
    result = decode(client, api, {"point": mid.tolist(), "projection": "pca"})
    expected = index.inverses["pca"].transform(mid[None])[0]
    np.testing.assert_allclose(result["latent"], expected, atol=1e-6)
    # Inside the map the latent is a convex blend of real latents: within their bounding box.
    latents = index.latents
    assert (np.asarray(result["latent"]) >= latents.min(0) - 1e-6).all()
    assert (np.asarray(result["latent"]) <= latents.max(0) + 1e-6).all()


def test_a_point_far_off_the_map_still_decodes_to_a_bounded_latent(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    result = decode(client, api, {"point": [1e8, -1e8], "projection": "umap"})
    latent = np.asarray(result["latent"])
    assert np.isfinite(latent).all()
    assert (latent >= index.latents.min(0) - 1e-6).all()
    assert (latent <= index.latents.max(0) + 1e-6).all()
    png_pixels(result["image"])


def test_point_projection_defaults_to_umap(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    x, y = (float(v) for v in index.projections["umap"].embedding_[5])
    assert decode(client, api, {"point": [x, y]}) == decode(
        client, api, {"point": [x, y], "projection": "umap"}
    )

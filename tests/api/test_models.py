"""GET endpoints: health, the model list, the map points and the dataset images."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import png_pixels


def test_health_is_ok_once_the_model_is_loaded(client: TestClient, model_name: str) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "device": "cpu",
        "models": [model_name],
        "failed": {},
    }


def test_models_lists_the_model_with_its_sizes(
    client: TestClient, model_name: str, index: LatentIndex
) -> None:
    response = client.get("/api/models")
    assert response.status_code == 200
    (model,) = response.json()["models"]
    assert model["name"] == model_name
    assert model["architecture"] == "vae"
    assert model["latent_dim"] == 4
    assert model["image_shape"] == [1, 16, 16]
    assert model["n_items"] == len(index) == 1797  # sklearn's digits, every item
    assert model["projections"] == ["pca", "umap", "tsne"]
    assert model["label_field"] == "digit"
    assert model["label_names"] == [str(d) for d in range(10)]
    assert model["metadata_fields"] == {"digit": "category"}
    assert "data_dir" not in model["dataset"]
    np.testing.assert_allclose(model["latent_std"], index.latents.std(0), rtol=1e-6)
    # Every stored figure, as stored; the typed schema gives figures that do not apply as null.
    given = {key: value for key, value in model["quality"].items() if value is not None}
    assert given == index.quality


def test_one_model_is_the_same_as_its_list_entry(client: TestClient, api: str) -> None:
    (listed,) = client.get("/api/models").json()["models"]
    response = client.get(api)
    assert response.status_code == 200
    assert response.json() == listed


@pytest.mark.parametrize("projection", ["umap", "pca", "tsne"])
def test_points_are_the_index_embedding_as_columns(
    client: TestClient, api: str, index: LatentIndex, projection: str
) -> None:
    response = client.get(f"{api}/points", params={"projection": projection})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    points = response.json()
    n = len(index)
    assert points["projection"] == projection
    assert points["count"] == n
    for column in ("x", "y", "labels", "names", "reconstruction_error", "faithfulness"):
        assert len(points[column]) == n, column
    embedding = index.projections[projection].embedding_
    # Coordinates are rounded to 5 decimals to keep the body small.
    np.testing.assert_allclose(points["x"], embedding[:, 0], atol=1e-5)
    np.testing.assert_allclose(points["y"], embedding[:, 1], atol=1e-5)
    assert index.labels is not None
    assert points["labels"] == index.labels.tolist()
    assert points["names"] == index.item_names.tolist()
    np.testing.assert_allclose(points["reconstruction_error"], index.errors, atol=1e-6)
    np.testing.assert_allclose(points["faithfulness"], index.faithfulness[projection], atol=1e-5)
    digit = points["metadata"]["digit"]
    assert digit["type"] == "category"
    assert len(digit["codes"]) == n
    decoded = np.asarray(digit["categories"])[digit["codes"]]
    assert (decoded == index.metadata["digit"]).all()


def test_points_default_to_umap(client: TestClient, api: str) -> None:
    default = client.get(f"{api}/points")
    assert default.status_code == 200
    assert default.json()["projection"] == "umap"
    assert default.content == client.get(f"{api}/points?projection=umap").content


@pytest.mark.parametrize("item_id", [0, 1, 905, 1796])
@pytest.mark.parametrize("kind", ["image", "thumbnail"])
def test_item_image_is_the_stored_dataset_image(
    client: TestClient, api: str, index: LatentIndex, item_id: int, kind: str
) -> None:
    response = client.get(f"{api}/items/{item_id}/{kind}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    pixels = png_pixels(response.content)
    np.testing.assert_array_equal(pixels, index.images[item_id, 0])

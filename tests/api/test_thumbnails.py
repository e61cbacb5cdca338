"""GET /api/models/{m}/thumbnails: many items' stored images in one request, as the map draws
them in place of its dots, on the session's digits model and on the shapes model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex, load_index
from app.services.items import MAX_THUMBNAILS
from app.workspace import INDEX_DIR
from tests.api.helpers import DATA_URL, assert_error, png_pixels, serving
from tests.conftest import SHAPES_MODEL
from tests.decoderless import add_embeddings


def decoded(data_url: str) -> np.ndarray:
    """A data URL's PNG pixels as (C, H, W) uint8, whatever its mode."""
    import base64
    import io

    from PIL import Image

    assert data_url.startswith(DATA_URL)
    with Image.open(io.BytesIO(base64.b64decode(data_url[len(DATA_URL) :]))) as image:
        assert image.format == "PNG"
        hwc = np.asarray(image)
    return hwc[None] if hwc.ndim == 2 else hwc.transpose(2, 0, 1)


def test_thumbnails_are_the_stored_images_in_the_order_asked(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    ids = [1796, 0, 40, 0, 7]  # unsorted, with a repeat
    response = client.get(f"{api}/thumbnails", params={"ids": ",".join(map(str, ids))})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=3600"
    body = response.json()
    assert body["model"] == "digits-vae-4" and body["ids"] == ids
    assert len(body["images"]) == len(ids)
    assert index.images is not None
    for item, url in zip(ids, body["images"], strict=True):
        np.testing.assert_array_equal(png_pixels(url), index.images[item][0])
    assert body["images"][1] == body["images"][3]
    # the same bytes the one-item endpoint serves
    single = client.get(f"{api}/items/40/thumbnail")
    np.testing.assert_array_equal(png_pixels(single.content), png_pixels(body["images"][2]))


def test_the_most_thumbnails_one_request_takes(client: TestClient, api: str) -> None:
    ids = ",".join(str(i % 1797) for i in range(MAX_THUMBNAILS))
    assert len(client.get(f"{api}/thumbnails", params={"ids": ids}).json()["images"]) == 500
    too_many = ",".join(["1"] * (MAX_THUMBNAILS + 1))
    message = assert_error(client.get(f"{api}/thumbnails", params={"ids": too_many}), 422)
    assert "at most 500" in message


@pytest.mark.parametrize(
    ("ids", "status", "code"),
    [
        ("", 422, "invalid_input"),
        ("1,,2", 422, "invalid_input"),
        ("1,-2", 422, "invalid_input"),
        ("1;2", 422, "invalid_input"),
        ("1,２", 422, "invalid_input"),  # a full-width digit: not an ASCII id
        ("3,1797", 404, "unknown_item"),
    ],
)
def test_bad_id_lists_are_refused(
    client: TestClient, api: str, ids: str, status: int, code: str
) -> None:
    assert_error(client.get(f"{api}/thumbnails", params={"ids": ids}), status, code)


def test_unknown_model_and_missing_ids(client: TestClient) -> None:
    assert_error(client.get("/api/models/nope/thumbnails?ids=1"), 404, "unknown_model")
    assert_error(client.get("/api/models/digits-vae-4/thumbnails?ids=9x"), 422)
    assert_error(client.get("/api/models/digits-vae-4/thumbnails"), 422, "invalid_input")


def test_shapes_thumbnails_are_its_images(
    shapes_client: TestClient, shapes_workspace: Path
) -> None:
    index = load_index(shapes_workspace / SHAPES_MODEL / INDEX_DIR)
    assert index.images is not None and len(index) == 400
    ids = [399, 3, 250]
    response = shapes_client.get(f"/api/models/{SHAPES_MODEL}/thumbnails?ids=399,3,250")
    assert response.status_code == 200
    images = response.json()["images"]
    for item, url in zip(ids, images, strict=True):
        pixels = decoded(url)
        assert pixels.shape == index.images[item].shape
        np.testing.assert_array_equal(pixels, index.images[item])
    assert_error(shapes_client.get(f"/api/models/{SHAPES_MODEL}/thumbnails?ids=400"), 404)


def test_entries_without_images_refuse_with_no_images(tmp_path: Path) -> None:
    name = "bare-embeddings"
    add_embeddings(tmp_path, name, 300, with_images=False)
    with serving(tmp_path) as client:
        response = client.get(f"/api/models/{name}/thumbnails?ids=0,1")
        assert_error(response, 404, "no_images")

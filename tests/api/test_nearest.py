"""Models without a decoder (precomputed embeddings with and without images, an encoder-only
model): clicks, drags, interpolation paths and arithmetic answer with the nearest real item's
image and say which item; decode-only requests get 409 ``no_decoder``, uploads to embeddings
409 ``no_encoder``, item images of an entry without images 404 ``no_images``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.index.store import LatentIndex, load_index
from app.main import create_app
from app.services.drag import parse_frame_binary
from app.services.embeddings import EmbeddingsImport, import_embeddings
from app.workspace import INDEX_DIR
from tests.api.helpers import (
    DATA_URL,
    assert_error,
    brute_force_neighbours,
    encode_file,
    png_pixels,
    serving,
)
from tests.decoderless import (
    add_embeddings,
    add_encoder_only,
    digit_embeddings,
    encoder_only_registered,
)

WITH_IMAGES = "emb-images"  # precomputed embeddings with their images
PLAIN = "emb-plain"  # precomputed embeddings, no images
ENCODER = "enc-only"  # an encoder-only model: encodes uploads, cannot decode
DECODERLESS = [WITH_IMAGES, PLAIN, ENCODER]
EMBEDDINGS = [WITH_IMAGES, PLAIN]


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("decoderless")
    with encoder_only_registered():
        add_embeddings(root, WITH_IMAGES, 400, with_images=True)
        add_embeddings(root, PLAIN, 300, with_images=False)
        add_encoder_only(root, ENCODER, 400)
        yield root


@pytest.fixture(scope="module")
def nc(workspace_dir: Path) -> Iterator[TestClient]:
    """A client of an app serving the three decoder-less entries."""
    with serving(workspace_dir) as client:
        yield client


@pytest.fixture(scope="module")
def indexes(workspace_dir: Path) -> dict[str, LatentIndex]:
    """Each entry's index read from disk, independently of the server."""
    return {name: load_index(workspace_dir / name / INDEX_DIR) for name in DECODERLESS}


def nearest(index: LatentIndex, latent: Any) -> int:
    """The brute-force nearest item (euclidean, ties to the lower id)."""
    ids, _ = brute_force_neighbours(index.latents, np.asarray(latent), 1, "euclidean")
    return int(ids[0])


def png_of(data_url: str) -> bytes:
    assert data_url.startswith(DATA_URL)
    return base64.b64decode(data_url[len(DATA_URL) :], validate=True)


def check_nearest_image(
    client: TestClient, name: str, index: LatentIndex, image: str | None, item: int
) -> None:
    """The image shown is item's own: the same PNG as its thumbnail, its stored pixels; or
    nothing at all for an entry without images."""
    if index.images is None:
        assert image is None
        return
    assert image is not None
    thumbnail = client.get(f"/api/models/{name}/items/{item}/thumbnail")
    assert thumbnail.status_code == 200
    assert png_of(image) == thumbnail.content
    np.testing.assert_array_equal(png_pixels(image), index.images[item, 0])


def between_points(index: LatentIndex) -> list[list[float]]:
    """Map points: two items' own spots and three places between items."""
    xy = index.projections["umap"].embedding_
    return [
        xy[3].tolist(),
        xy[250].tolist(),
        ((xy[10] + xy[20]) / 2).tolist(),
        ((xy[5] + xy[150]) / 2).tolist(),
        (0.3 * xy[40] + 0.7 * xy[99]).tolist(),
    ]


def test_models_report_what_each_entry_can_do(nc: TestClient) -> None:
    models = {m["name"]: m for m in nc.get("/api/models").json()["models"]}
    facts = {n: (m["can_encode"], m["can_decode"], m["has_images"]) for n, m in models.items()}
    assert facts == {
        WITH_IMAGES: (False, False, True),
        PLAIN: (False, False, False),
        ENCODER: (True, False, True),
    }


@pytest.mark.parametrize("name", DECODERLESS)
def test_a_click_shows_the_nearest_real_image(
    nc: TestClient, indexes: dict[str, LatentIndex], name: str
) -> None:
    index = indexes[name]
    found = []
    for point in between_points(index):
        response = nc.post(f"/api/models/{name}/decode", json={"point": point})
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        assert body["image_source"] == "nearest"
        item = nearest(index, body["latent"])
        assert body["nearest_id"] == item
        assert body["nearest_name"] == str(index.item_names[item])
        assert body["positions"]["umap"] == pytest.approx(point)
        check_nearest_image(nc, name, index, body["image"], item)
        found.append(item)
    assert found[:2] == [3, 250]  # an item's own spot gives that item
    assert len(set(found)) >= 3  # places between items find other items
    # A click on an item shows that item.
    body = nc.post(f"/api/models/{name}/decode", json={"id": 77}).json()
    assert (body["nearest_id"], body["image_source"]) == (77, "nearest")
    check_nearest_image(nc, name, index, body["image"], 77)


@pytest.mark.parametrize("name", DECODERLESS)
def test_decode_only_requests_are_409_no_decoder(
    nc: TestClient, indexes: dict[str, LatentIndex], name: str
) -> None:
    latent = indexes[name].latents[5].tolist()
    message = assert_error(
        nc.post(f"/api/models/{name}/decode", json={"latent": latent}), 409, "no_decoder"
    )
    assert "no decoder" in message and "nearest real item" in message and "neighbors" in message
    message = assert_error(
        nc.post(f"/api/models/{name}/traverse", json={"start": {"id": 5}}), 409, "no_decoder"
    )
    assert "traversal grid" in message
    # A malformed request is still a 422, whatever the model can do.
    assert_error(nc.post(f"/api/models/{name}/decode", json={"latent": [1.0]}), 422)


@pytest.mark.parametrize("name", DECODERLESS)
def test_an_interpolation_path_shows_each_steps_nearest_item(
    nc: TestClient, indexes: dict[str, LatentIndex], name: str
) -> None:
    index = indexes[name]
    body = {"start": {"id": 12}, "end": {"id": 201}, "steps": 16, "method": "lerp"}
    response = nc.post(f"/api/models/{name}/interpolate", json=body)
    assert response.status_code == 200, response.text[:300]
    path = response.json()
    assert path["image_source"] == "nearest"
    expected = [nearest(index, latent) for latent in path["latents"]]
    assert path["nearest_ids"] == expected
    assert (expected[0], expected[-1]) == (12, 201)
    assert len(set(expected)) >= 3  # the path passes other items on the way
    assert path["nearest_names"] == [str(index.item_names[i]) for i in expected]
    assert len(path["images"]) == 16
    for image, item in zip(path["images"], expected, strict=True):
        check_nearest_image(nc, name, index, image, item)


@pytest.mark.parametrize("name", DECODERLESS)
def test_arithmetic_and_analogies_show_the_nearest_item(
    nc: TestClient, indexes: dict[str, LatentIndex], name: str
) -> None:
    index = indexes[name]
    vector = (index.latents[30] - index.latents[31]).tolist()
    bodies = [
        {"start": {"id": 8}, "terms": [{"vector": vector, "weight": 0.7}], "k": 5},
        {"analogy": {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}, "k": 5},
    ]
    for body in bodies:
        response = nc.post(f"/api/models/{name}/arithmetic", json=body)
        assert response.status_code == 200, response.text[:300]
        result = response.json()
        item = nearest(index, result["latent"])
        assert (result["image_source"], result["nearest_id"]) == ("nearest", item)
        assert result["neighbours"]["ids"][0] == item  # the shown item leads its neighbours
        check_nearest_image(nc, name, index, result["image"], item)


@pytest.mark.parametrize("name", DECODERLESS)
def test_drag_frames_carry_the_nearest_item(
    nc: TestClient, indexes: dict[str, LatentIndex], name: str
) -> None:
    index = indexes[name]
    with nc.websocket_connect(f"/api/models/{name}/drag") as ws:
        for seq, (x, y) in enumerate(between_points(index)):
            ws.send_text(json.dumps({"x": x, "y": y, "seq": seq}))
            frame = ws.receive_json()
            assert frame["seq"] == seq
            assert frame["image_source"] == "nearest"
            expected = index.inverses["umap"].transform(np.array([[x, y]], np.float32))[0]
            np.testing.assert_allclose(frame["latent"], expected, atol=1e-6)
            item = nearest(index, frame["latent"])
            assert frame["nearest_id"] == item
            assert frame["nearest_name"] == str(index.item_names[item])
            check_nearest_image(nc, name, index, frame["image"], item)
    with nc.websocket_connect(f"/api/models/{name}/drag?frames=binary") as ws:
        x, y = between_points(index)[0]
        ws.send_text(json.dumps({"x": x, "y": y, "seq": 0}))
        header, png = parse_frame_binary(ws.receive_bytes())
        assert (header["image_source"], header["seq"]) == ("nearest", 0)
        assert header["image_type"] == (None if index.images is None else "image/png")
        shown = "data:image/png;base64," + base64.b64encode(png).decode() if png else None
        check_nearest_image(nc, name, index, shown, header["nearest_id"])


@pytest.mark.parametrize("name", EMBEDDINGS)
def test_an_upload_to_embeddings_is_409_no_encoder(nc: TestClient, name: str) -> None:
    image = encode_file(np.zeros((16, 16), np.uint8))
    response = nc.post(f"/api/models/{name}/encode", files=[("file", ("a.png", image))])
    message = assert_error(response, 409, "no_encoder")
    assert "precomputed embeddings (no encoder)" in message
    assert "neighbours of its items" in message and "maps" in message


def test_an_upload_to_an_encoder_only_model_is_placed_without_a_reconstruction(
    nc: TestClient, indexes: dict[str, LatentIndex]
) -> None:
    index = indexes[ENCODER]
    assert index.errors is None and index.images is not None
    item_id = 17
    upload = encode_file(index.images[item_id, 0])
    response = nc.post(
        f"/api/models/{ENCODER}/encode", params={"k": 5}, files=[("file", ("d.png", upload))]
    )
    assert response.status_code == 200, response.text[:300]
    (item,) = response.json()["items"]
    # Its own stored image encodes to its stored latent, lands on its spot and is nearest itself.
    np.testing.assert_allclose(item["latent"], index.latents[item_id], atol=1e-5)
    umap_xy = index.projections["umap"].embedding_[item_id]
    np.testing.assert_allclose(item["positions"]["umap"], umap_xy, atol=1e-3)
    assert set(item["positions"]) == {"pca", "umap", "tsne"}
    ids, dist = brute_force_neighbours(index.latents, np.asarray(item["latent"]), 5, "euclidean")
    assert item["neighbours"]["ids"] == ids.tolist()
    np.testing.assert_allclose(item["neighbours"]["distances"], dist, atol=1e-4)
    assert item["reconstruction_error"] is None and item["error_percentile"] is None
    assert (item["image_source"], item["nearest_id"]) == ("nearest", item_id)
    check_nearest_image(nc, ENCODER, index, item["image"], item_id)
    np.testing.assert_array_equal(png_pixels(item["input"]), index.images[item_id, 0])


def test_item_images_of_an_entry_without_images_are_404_no_images(
    nc: TestClient, indexes: dict[str, LatentIndex]
) -> None:
    for kind in ("image", "thumbnail"):
        message = assert_error(nc.get(f"/api/models/{PLAIN}/items/3/{kind}"), 404, "no_images")
        assert "without images" in message
        assert_error(nc.get(f"/api/models/{PLAIN}/items/9999/{kind}"), 404, "unknown_item")
        response = nc.get(f"/api/models/{WITH_IMAGES}/items/3/{kind}")
        assert response.status_code == 200
        images = indexes[WITH_IMAGES].images
        assert images is not None
        np.testing.assert_array_equal(png_pixels(response.content), images[3, 0])
    item = nc.get(f"/api/models/{PLAIN}/items/3").json()
    assert item["name"] == str(indexes[PLAIN].item_names[3])
    assert item["reconstruction_error"] is None


@pytest.mark.parametrize("name", DECODERLESS)
def test_points_have_no_reconstruction_errors(nc: TestClient, name: str) -> None:
    points = nc.get(f"/api/models/{name}/points").json()
    assert points["reconstruction_error"] is None
    assert len(points["x"]) == len(points["names"]) > 0
    body = nc.get(f"/api/models/{name}/points", params={"format": "binary"}).content
    length = int.from_bytes(body[4:8], "little")
    columns = [c["name"] for c in json.loads(body[8 : 8 + length])["columns"]]
    assert "reconstruction_error" not in columns and "x" in columns


def test_decoded_answers_say_so(client: TestClient, api: str, index: LatentIndex) -> None:
    """A model with a decoder: every image answer says ``decoded`` and names no item."""
    assert index.images is not None
    answers = [
        client.post(f"{api}/decode", json={"id": 3}).json(),
        client.post(f"{api}/arithmetic", json={"start": {"id": 3}, "k": 2}).json(),
        client.post(
            f"{api}/encode", files=[("file", ("x.png", encode_file(index.images[4, 0])))]
        ).json()["items"][0],
    ]
    path = client.post(f"{api}/interpolate", json={"start": {"id": 1}, "end": {"id": 2}}).json()
    for answer in [*answers, path]:
        assert answer["image_source"] == "decoded"
        assert answer.get("nearest_id") is None and answer.get("nearest_ids") is None
    assert isinstance(answers[2]["reconstruction_error"], float)
    assert 0.0 <= answers[2]["error_percentile"] <= 100.0


def test_the_409s_are_documented(nc: TestClient) -> None:
    spec = nc.get("/openapi.json").json()["paths"]
    for path, method in [("encode", "post"), ("decode", "post"), ("traverse", "post")]:
        responses = spec[f"/api/models/{{model}}/{path}"][method]["responses"]
        assert "409" in responses, path
        assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorOut"
        )


def test_an_item_with_a_duplicate_vector_is_shown_as_itself(tmp_path: Path) -> None:
    """A click on item 40 (or a path from it) shows item 40, even when an earlier item has the
    very same vector and a search would answer with that one."""
    source = digit_embeddings(120, with_images=True)
    source.vectors[40] = source.vectors[5]  # exact duplicates are common in real sets
    ages = np.arange(120, dtype=np.float64)
    ages[40] = np.nan  # a gap, as a metadata.csv row without the value leaves
    source.metadata["age"] = ages
    import_embeddings(EmbeddingsImport(source, label_field="digit"), tmp_path, "dup")
    settings = Settings(workspace=tmp_path, device="cpu", threads=1)
    with TestClient(create_app(settings)) as client:
        api = "/api/models/dup"
        clicked = client.post(f"{api}/decode", json={"id": 40})
        assert clicked.status_code == 200
        assert (clicked.json()["nearest_id"], clicked.json()["nearest_name"]) == (
            40,
            str(source.item_names[40]),
        )
        assert client.post(f"{api}/decode", json={"id": 5}).json()["nearest_id"] == 5
        path = client.post(
            f"{api}/interpolate", json={"start": {"id": 40}, "end": {"id": 5}, "steps": 3}
        )
        assert path.status_code == 200
        # The ends are the items asked for; the middle step (the same vector again) is a
        # search, where the lower id wins the tie.
        assert path.json()["nearest_ids"] == [40, 5, 5]
        facts = client.get(f"{api}/items/40").json()
        assert facts["metadata"] == {"digit": str(source.metadata["digit"][40]), "age": None}
        assert client.get(f"{api}/items/41").json()["metadata"]["age"] == 41.0
        # A raw point on item 40's spot is a search like any other: the lower id wins the tie.
        spot = facts["positions"]["umap"]
        at_spot = client.post(f"{api}/decode", json={"point": spot, "projection": "umap"})
        assert at_spot.json()["nearest_id"] in (5, 40)

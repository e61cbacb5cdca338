"""The binary form of GET points (decoded here with numpy, as its spec says), the names list
and the one-item endpoint: the same data as the JSON form and the index on disk."""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from app.services.points import (
    DRAW_ORDER_SEED,
    draw_order,
    points_binary,
    points_json,
    smallest_int,
)
from tests.api.helpers import assert_error

ALLOWED_DTYPES = {"float32", "uint32", "uint8", "int16", "int32"}


def decode(body: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Split a binary points body into its header and {column name: array}, checking the
    layout rules on the way: magic, padding, alignment, no overlaps, nothing past the end."""
    assert body[:4] == b"LEXP"
    (length,) = struct.unpack("<I", body[4:8])
    start = 8 + length
    assert start % 8 == 0
    header = json.loads(body[8:start].decode("utf-8"))
    columns: dict[str, np.ndarray] = {}
    end = start
    for spec in header["columns"]:
        assert spec["dtype"] in ALLOWED_DTYPES, spec
        assert spec["offset"] % 8 == 0 and spec["offset"] >= end, spec
        dtype = np.dtype(spec["dtype"]).newbyteorder("<")
        columns[spec["name"]] = np.frombuffer(body, dtype, spec["count"], spec["offset"])
        end = spec["offset"] + spec["count"] * dtype.itemsize
    assert len(body) - end < 8  # only the last column's padding follows it
    return header, columns


@pytest.fixture(scope="module", params=["umap", "pca", "tsne"])
def binary(client: TestClient, api: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    projection = request.param
    response = client.get(f"{api}/points", params={"projection": projection, "format": "binary"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    header, columns = decode(response.content)
    as_json = client.get(f"{api}/points", params={"projection": projection}).json()
    return {
        "projection": projection,
        "header": header,
        "columns": columns,
        "json": as_json,
        "bytes": len(response.content),
    }


def test_binary_points_are_the_index_exactly(binary: dict[str, Any], index: LatentIndex) -> None:
    header, columns = binary["header"], binary["columns"]
    n = len(index)
    assert header["format"] == "latent-explorer-points" and header["version"] == 1
    assert header["projection"] == binary["projection"]
    assert header["count"] == n and header["byte_order"] == "little"
    names = [spec["name"] for spec in header["columns"]]
    assert names == [
        "x",
        "y",
        "order",
        "labels",
        "reconstruction_error",
        "faithfulness",
        *(f"metadata/{k}" for k in index.metadata),
    ]
    assert all(len(values) == n for values in columns.values())
    embedding = index.projections[binary["projection"]].embedding_
    np.testing.assert_array_equal(columns["x"], embedding[:, 0].astype(np.float32))
    np.testing.assert_array_equal(columns["y"], embedding[:, 1].astype(np.float32))
    np.testing.assert_array_equal(columns["reconstruction_error"], index.errors)
    # this projection's faithfulness: a share of 10 neighbours, so a multiple of 0.1
    faithfulness = columns["faithfulness"]
    assert faithfulness.dtype == np.float32
    np.testing.assert_array_equal(faithfulness, index.faithfulness[binary["projection"]])
    np.testing.assert_allclose(faithfulness * 10, np.round(faithfulness * 10), atol=1e-5)
    assert faithfulness.mean() == pytest.approx(
        index.quality["faithfulness"][binary["projection"]], rel=1e-6
    )
    assert index.labels is not None
    # ten digits fit in a byte: the smallest integer type that holds them is used
    assert columns["labels"].dtype == np.uint8
    np.testing.assert_array_equal(columns["labels"], index.labels)
    assert header["label_field"] == index.label_field
    assert header["label_names"] == list(index.label_names)
    for key, column in index.metadata.items():
        values = columns[f"metadata/{key}"]
        if column.dtype.kind in "US":
            assert header["metadata"][key]["type"] == "category"
            decoded = np.asarray(header["metadata"][key]["categories"])[values]
            np.testing.assert_array_equal(decoded, column)
        else:
            assert header["metadata"][key] == {"type": "number"}
            np.testing.assert_array_equal(values, column.astype(np.float32))
    assert "names" not in columns  # names are served separately


def test_binary_points_match_the_json_form(binary: dict[str, Any]) -> None:
    header, columns, as_json = binary["header"], binary["columns"], binary["json"]
    for key in ("model", "projection", "count", "label_field", "label_names"):
        assert header[key] == as_json[key], key
    assert columns["labels"].tolist() == as_json["labels"]
    # The JSON form rounds floats (5 decimals; errors 6): equal to that rounding.
    np.testing.assert_allclose(columns["x"], as_json["x"], rtol=0, atol=6e-6)
    np.testing.assert_allclose(columns["y"], as_json["y"], rtol=0, atol=6e-6)
    np.testing.assert_allclose(
        columns["reconstruction_error"], as_json["reconstruction_error"], rtol=0, atol=6e-7
    )
    np.testing.assert_allclose(columns["faithfulness"], as_json["faithfulness"], rtol=0, atol=6e-6)
    for key, field in as_json["metadata"].items():
        values = columns[f"metadata/{key}"]
        if field["type"] == "category":
            assert header["metadata"][key]["categories"] == field["categories"]
            assert values.tolist() == field["codes"]
        else:
            np.testing.assert_allclose(values, field["values"], rtol=1e-6, atol=6e-6)
    # the binary form is much smaller than the JSON text
    assert binary["bytes"] < 0.6 * len(json.dumps(as_json))


def test_draw_order_is_a_seeded_permutation_shared_by_projections(
    client: TestClient, api: str, binary: dict[str, Any], index: LatentIndex
) -> None:
    order = binary["columns"]["order"]
    n = len(index)
    assert order.dtype == np.uint32
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    np.testing.assert_array_equal(order, np.random.default_rng(DRAW_ORDER_SEED).permutation(n))
    assert binary["header"]["draw_order_seed"] == DRAW_ORDER_SEED
    # random, not the identity: any prefix is a fair sample of the map (all ten digits in 100)
    labels = binary["columns"]["labels"]
    assert len(np.unique(labels[order[:100]])) == 10
    other = "pca" if binary["projection"] == "umap" else "umap"
    response = client.get(f"{api}/points", params={"projection": other, "format": "binary"})
    np.testing.assert_array_equal(decode(response.content)[1]["order"], order)


def test_binary_body_is_cached_and_defaults_to_umap(client: TestClient, api: str) -> None:
    first = client.get(f"{api}/points?format=binary")
    second = client.get(f"{api}/points?format=binary&projection=umap")
    assert first.content == second.content
    assert decode(first.content)[0]["projection"] == "umap"
    explicit = client.get(f"{api}/points?format=json")
    assert explicit.headers["content-type"] == "application/json"
    assert explicit.content == client.get(f"{api}/points").content


@pytest.mark.parametrize("bad", ["arrow", "BINARY", "", "x" * 200])
def test_unknown_format_is_a_422_naming_the_choices(client: TestClient, api: str, bad: str) -> None:
    message = assert_error(client.get(f"{api}/points", params={"format": bad}), 422)
    assert "format" in message and "json" in message and "binary" in message


def test_binary_unknown_projection_and_model_keep_the_error_shape(
    client: TestClient, api: str
) -> None:
    response = client.get(f"{api}/points", params={"format": "binary", "projection": "isomap"})
    assert "umap" in assert_error(response, 422, "unknown_projection")
    response = client.get("/api/models/nope/points", params={"format": "binary"})
    assert_error(response, 404)


def test_names_list_every_item_in_id_order(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    response = client.get(f"{api}/names")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {"count": len(index), "names": index.item_names.tolist()}


@pytest.mark.parametrize("item_id", [0, 905, 1796])
def test_item_endpoint_gives_one_items_facts(
    client: TestClient, api: str, index: LatentIndex, item_id: int
) -> None:
    response = client.get(f"{api}/items/{item_id}")
    assert response.status_code == 200
    item = response.json()
    assert item["id"] == item_id
    assert item["name"] == index.item_names[item_id]
    assert index.labels is not None
    assert item["label_field"] == index.label_field == "digit"
    assert item["label"] == index.label_names[index.labels[item_id]]
    assert item["metadata"]["digit"] == index.metadata["digit"][item_id]
    assert item["reconstruction_error"] == pytest.approx(float(index.errors[item_id]))
    for name, projection in index.projections.items():
        assert item["positions"][name] == pytest.approx(projection.embedding_[item_id].tolist())


@pytest.mark.parametrize("bad", ["1797", "-1", "abc", "1e3", "9" * 40])
def test_item_endpoint_unknown_id_is_404(client: TestClient, api: str, bad: str) -> None:
    assert_error(client.get(f"{api}/items/{bad}"), 404, "unknown_item")


def test_an_index_without_faithfulness_serves_no_such_column(index: LatentIndex) -> None:
    older = dataclasses.replace(index, faithfulness={})
    header, columns = decode(points_binary(older, "m", "umap", draw_order(len(older))))
    assert "faithfulness" not in columns and "reconstruction_error" in columns
    assert json.loads(points_json(older, "m", "umap"))["faithfulness"] is None


def test_smallest_int_picks_the_narrowest_type() -> None:
    assert smallest_int(np.array([0, 255])).dtype == np.uint8
    assert smallest_int(np.array([-1, 3])).dtype == np.int16
    assert smallest_int(np.array([0, 40_000])).dtype == np.int32
    assert smallest_int(np.array([], dtype=np.int64)).dtype == np.uint8
    with pytest.raises(ValueError, match="int32"):
        smallest_int(np.array([0, 2**40]))
    assert draw_order(5).dtype == np.uint32

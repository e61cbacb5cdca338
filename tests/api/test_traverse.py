"""POST /traverse: grids of images along each latent dimension or attribute."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import assert_error, png_pixels


def traverse(client: TestClient, api: str, **body: Any) -> list[dict[str, Any]]:
    response = client.post(f"{api}/traverse", json=body)
    assert response.status_code == 200, response.text[:300]
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def rendered(row: dict[str, Any]) -> np.ndarray:
    return np.stack([png_pixels(image) for image in row["images"]]).astype(int)


def test_one_row_per_latent_dimension_in_standard_deviations(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    rows = traverse(client, api, start={"id": 12}, steps=5, radius=2.0)
    assert [row["label"] for row in rows] == ["z0", "z1", "z2", "z3"]
    std = index.latents.std(0).astype(np.float64)
    for d, row in enumerate(rows):
        np.testing.assert_allclose(row["offsets"], [-2, -1, 0, 1, 2])
        expected = np.repeat(index.latents[12][None].astype(np.float64), 5, 0)
        expected[:, d] += np.asarray(row["offsets"]) * std[d]
        assert np.abs(rendered(row) - decode_reference(expected)).max() <= 1
        # The middle of every row is the start itself.
        assert row["images"][2] == rows[0]["images"][2]


def test_one_row_per_attribute_along_its_direction(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    attributes = {a["id"]: a for a in client.get(f"{api}/attributes").json()["attributes"]}
    rows = traverse(client, api, start={"id": 3}, attributes=["digit:1-7", "digit=0"], steps=3)
    assert [row["label"] for row in rows] == ["digit:1-7", "digit=0"]
    for row in rows:
        vector = np.asarray(attributes[row["label"]]["vector"])
        unit = vector / np.linalg.norm(vector)
        spread = (index.latents.astype(np.float64) @ unit).std()
        np.testing.assert_allclose(row["offsets"], [-3, 0, 3])  # the default radius
        expected = index.latents[3] + np.outer(np.asarray(row["offsets"]) * spread, unit)
        assert np.abs(rendered(row) - decode_reference(expected)).max() <= 1


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        ({"steps": 2}, 422, "bad_steps", "3 to 15"),
        ({"steps": 16}, 422, "bad_steps", "3 to 15"),
        ({"radius": 0}, 422, "bad_radius", "at most 10"),
        ({"radius": 11}, 422, "bad_radius", "at most 10"),
        ({"attributes": []}, 422, "invalid_input", "at least 1"),
        ({"attributes": ["digit=1"] * 33}, 422, "invalid_input", "32"),
        ({"attributes": ["no-such"]}, 404, "unknown_attribute", "GET /api/models"),
        ({"start": {"latent": [1, 2]}}, 422, "wrong_latent_size", "latent size of 4"),
    ],
)
def test_bad_traversals_are_refused(
    client: TestClient, api: str, body: dict[str, Any], status: int, code: str, hint: str
) -> None:
    response = client.post(f"{api}/traverse", json={"start": {"id": 0}} | body)
    assert hint in assert_error(response, status, code)
    assert client.post(f"{api}/traverse", json={"start": {"id": 0}}).status_code == 200


def test_a_nan_radius_is_refused(client: TestClient, api: str) -> None:
    body = b'{"start": {"id": 0}, "radius": NaN}'
    response = client.post(
        f"{api}/traverse", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "bad_radius")


def test_a_zero_attribute_is_refused(client: TestClient, api: str) -> None:
    same = client.post(f"{api}/attributes", json={"group_a": [4], "group_b": [4]}).json()
    assert same["vector"] == [0.0, 0.0, 0.0, 0.0]
    response = client.post(f"{api}/traverse", json={"start": {"id": 0}, "attributes": [same["id"]]})
    assert "zero vector" in assert_error(response, 422, "bad_term")

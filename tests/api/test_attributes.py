"""GET/POST /attributes and POST /arithmetic: vectors checked against numpy on the index."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import assert_error, brute_force_neighbours, png_pixels


def centroid_difference(latents: np.ndarray, a: Any, b: Any) -> np.ndarray:
    return latents[a].mean(0, dtype=np.float64) - latents[b].mean(0, dtype=np.float64)


def cohens_d(latents: np.ndarray, a: Any, b: Any, vector: np.ndarray) -> float:
    u = vector / np.linalg.norm(vector)
    pa, pb = latents[a] @ u, latents[b] @ u
    return float((pa.mean() - pb.mean()) / np.sqrt((pa.var() + pb.var()) / 2))


@pytest.fixture(scope="module")
def attributes(client: TestClient, api: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"{api}/attributes")
    assert response.status_code == 200
    return {a["id"]: a for a in response.json()["attributes"]}


def test_every_digit_value_and_pair_has_a_vector(attributes: dict[str, dict[str, Any]]) -> None:
    derived = {i: a for i, a in attributes.items() if a["kind"] != "custom"}
    values = {f"digit={d}" for d in range(10)}
    pairs = {f"digit:{a}-{b}" for a in range(10) for b in range(10) if a != b}
    assert set(derived) == values | pairs
    for attribute in derived.values():
        assert attribute["field"] == "digit"
        assert len(attribute["vector"]) == 4
        assert attribute["kind"] == ("value" if "=" in attribute["id"] else "pair")


@pytest.mark.parametrize("digit", ["3", "8"])
def test_a_value_vector_is_its_centroid_minus_the_rest(
    attributes: dict[str, dict[str, Any]], index: LatentIndex, digit: str
) -> None:
    attribute = attributes[f"digit={digit}"]
    mask = index.metadata["digit"] == digit
    expected = centroid_difference(index.latents, mask, ~mask)
    np.testing.assert_allclose(attribute["vector"], expected, atol=1e-6)
    assert (attribute["n_a"], attribute["n_b"]) == (mask.sum(), (~mask).sum())
    d = cohens_d(index.latents, mask, ~mask, expected)
    assert attribute["effect_size"] == pytest.approx(d, rel=1e-4)
    assert attribute["effect_size"] > 0  # the group is, by construction, further along it


def test_a_pair_vector_is_the_difference_of_two_centroids(
    attributes: dict[str, dict[str, Any]], index: LatentIndex
) -> None:
    three, seven = index.metadata["digit"] == "3", index.metadata["digit"] == "7"
    forward, backward = attributes["digit:3-7"], attributes["digit:7-3"]
    np.testing.assert_allclose(
        forward["vector"], centroid_difference(index.latents, three, seven), atol=1e-6
    )
    np.testing.assert_allclose(forward["vector"], -np.asarray(backward["vector"]), atol=1e-6)
    assert (forward["n_a"], forward["n_b"]) == (three.sum(), seven.sum())


def test_a_custom_attribute_is_the_difference_of_the_groups_centroids(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    group_a, group_b = [1, 11, 21, 31], [2, 12, 22]
    response = client.post(
        f"{api}/attributes", json={"name": "ones vs twos", "group_a": group_a, "group_b": group_b}
    )
    assert response.status_code == 201
    created = response.json()
    assert created["kind"] == "custom"
    assert created["name"] == "ones vs twos"
    assert created["field"] is None
    assert (created["n_a"], created["n_b"]) == (4, 3)
    expected = centroid_difference(index.latents, group_a, group_b)
    np.testing.assert_allclose(created["vector"], expected, atol=1e-6)
    listed = {a["id"]: a for a in client.get(f"{api}/attributes").json()["attributes"]}
    assert listed[created["id"]] == created


def test_a_custom_attribute_counts_a_repeated_id_once(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    response = client.post(f"{api}/attributes", json={"group_a": [5, 5, 5, 6], "group_b": [7]})
    assert response.status_code == 201
    created = response.json()
    assert created["n_a"] == 2
    assert created["name"].startswith("custom ")
    expected = centroid_difference(index.latents, [5, 6], [7])
    np.testing.assert_allclose(created["vector"], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        ({"group_a": [1, 2], "group_b": [3, 1797]}, 404, "unknown_item", "1797"),
        ({"group_a": [-4], "group_b": [3]}, 404, "unknown_item", "-4"),
        ({"group_a": [10**30], "group_b": [3]}, 404, "unknown_item", "0 to 1796"),
        ({"group_a": [], "group_b": [3]}, 422, "invalid_input", "group_a is empty"),
        ({"group_a": [3], "group_b": []}, 422, "invalid_input", "group_b is empty"),
        ({"group_a": [3]}, 422, "invalid_input", "group_b"),
        ({"group_a": [3], "group_b": [4], "colour": "red"}, 422, "invalid_input", "colour"),
    ],
)
def test_bad_groups_are_refused(
    client: TestClient, api: str, body: dict[str, Any], status: int, code: str, hint: str
) -> None:
    before = len(client.get(f"{api}/attributes").json()["attributes"])
    message = assert_error(client.post(f"{api}/attributes", json=body), status, code)
    assert hint in message
    assert len(client.get(f"{api}/attributes").json()["attributes"]) == before


# -- arithmetic ------------------------------------------------------------------------------


def arithmetic(client: TestClient, api: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{api}/arithmetic", json=body)
    assert response.status_code == 200, response.text[:300]
    result: dict[str, Any] = response.json()
    return result


def test_start_plus_weighted_attributes_is_the_numpy_sum(
    client: TestClient,
    api: str,
    index: LatentIndex,
    attributes: dict[str, dict[str, Any]],
    decode_reference: Any,
) -> None:
    vector = [0.5, 0.0, -0.25, 1.0]
    body = {
        "start": {"id": 5},
        "terms": [
            {"attribute": "digit:8-3", "weight": 1.5},
            {"attribute": "digit=0", "weight": -0.5},
            {"vector": vector, "weight": 2.0},
        ],
        "k": 6,
    }
    result = arithmetic(client, api, body)
    expected = (
        index.latents[5].astype(np.float64)
        + 1.5 * np.asarray(attributes["digit:8-3"]["vector"])
        - 0.5 * np.asarray(attributes["digit=0"]["vector"])
        + 2.0 * np.asarray(vector)
    )
    np.testing.assert_allclose(result["latent"], expected, atol=1e-5)
    ids, dist = brute_force_neighbours(index.latents, np.float32(result["latent"]), 6, "euclidean")
    assert result["neighbours"]["ids"] == ids.tolist()
    np.testing.assert_allclose(result["neighbours"]["distances"], dist, atol=1e-5)
    image = png_pixels(result["image"]).astype(int)
    assert np.abs(image - decode_reference(np.array([result["latent"]]))[0]).max() <= 1
    np.testing.assert_allclose(
        result["positions"]["pca"],
        index.projections["pca"].transform(np.array([result["latent"]]))[0],
        atol=1e-5,
    )


def test_no_terms_gives_back_the_start(client: TestClient, api: str, index: LatentIndex) -> None:
    result = arithmetic(client, api, {"start": {"id": 9}, "k": 0})
    np.testing.assert_array_equal(np.float32(result["latent"]), index.latents[9])
    assert result["neighbours"] is None


def test_a_custom_attribute_can_be_used_in_arithmetic(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    created = client.post(f"{api}/attributes", json={"group_a": [0], "group_b": [1]}).json()
    body = {"start": {"id": 2}, "terms": [{"attribute": created["id"], "weight": 1.0}]}
    result = arithmetic(client, api, body)
    expected = index.latents[2].astype(np.float64) + index.latents[0] - index.latents[1]
    np.testing.assert_allclose(result["latent"], expected, atol=1e-5)


def test_an_analogy_is_a_minus_b_plus_c(client: TestClient, api: str, index: LatentIndex) -> None:
    c_latent = [0.25, -0.5, 1.0, 0.0]
    body = {"analogy": {"a": {"id": 8}, "b": {"id": 3}, "c": {"latent": c_latent}}, "k": 3}
    result = arithmetic(client, api, body)
    z = index.latents.astype(np.float64)
    np.testing.assert_allclose(result["latent"], z[8] - z[3] + c_latent, atol=1e-6)
    assert len(result["neighbours"]["ids"]) == 3


def test_an_analogy_can_use_the_cosine_metric(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    body = {"analogy": {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}, "k": 4, "metric": "cosine"}
    result = arithmetic(client, api, body)
    assert result["neighbours"]["metric"] == "cosine"
    ids, dist = brute_force_neighbours(index.latents, np.float32(result["latent"]), 4, "cosine")
    assert result["neighbours"]["ids"] == ids.tolist()
    np.testing.assert_allclose(result["neighbours"]["distances"], dist, atol=1e-6)


def from_item_1(**rest: Any) -> dict[str, Any]:
    return {"start": {"id": 1}, **rest}


ANALOGY = {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"terms": [{"attribute": "digit=3"}]}, 422, "bad_arithmetic"),
        (from_item_1(analogy=ANALOGY), 422, "bad_arithmetic"),
        (from_item_1(terms=[{"attribute": "digit=3", "vector": [0] * 4}]), 422, "bad_term"),
        (from_item_1(terms=[{"weight": 2.0}]), 422, "bad_term"),
        (from_item_1(terms=[{"attribute": "digit=10"}]), 404, "unknown_attribute"),
        (from_item_1(terms=[{"vector": [1.0, 2.0]}]), 422, "wrong_latent_size"),
        (from_item_1(terms=[{"attribute": "digit=3", "weight": 1e6}]), 422, "bad_weight"),
        (from_item_1(k=-1), 422, "bad_k"),
        (from_item_1(k=1001), 422, "bad_k"),
        (from_item_1(k=3, metric="manhattan"), 422, "bad_metric"),
        ({"analogy": {"a": {"id": 1}, "b": {"id": 2}}}, 422, "invalid_input"),
        ({"analogy": {**ANALOGY, "c": {}}}, 422, "bad_reference"),
    ],
)
def test_bad_arithmetic_is_refused(
    client: TestClient, api: str, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(client.post(f"{api}/arithmetic", json=body), status, code)


def test_arithmetic_k_message_names_the_allowed_range(client: TestClient, api: str) -> None:
    response = client.post(f"{api}/arithmetic", json=from_item_1(k=-1))
    assert "k must be from 0 to 1000" in assert_error(response, 422, "bad_k")


@pytest.mark.parametrize("group", [[True], ["3"], [1, False]])
def test_group_ids_are_json_integers(client: TestClient, api: str, group: list[Any]) -> None:
    response = client.post(f"{api}/attributes", json={"group_a": group, "group_b": [4]})
    assert "a JSON integer" in assert_error(response, 422, "invalid_input")

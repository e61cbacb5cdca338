"""GET /api/models/{m}/topology and its bar clicks, checked against scipy and ripser directly."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.cluster.hierarchy import fcluster, linkage

from app.index.store import LatentIndex
from tests.api.helpers import assert_error


@pytest.fixture(scope="module")
def topo(client: TestClient, api: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"{api}/topology")
    assert response.status_code == 200, response.text[:300]
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_diagrams_cover_the_items_and_h0_is_single_linkage(
    topo: dict,
    index: LatentIndex,  # type: ignore[type-arg]
) -> None:
    n = len(index)
    assert topo["n_items"] == n and topo["n_landmarks"] == min(n, 2000)
    landmarks = np.asarray(topo["landmark_ids"])
    assert len(set(landmarks.tolist())) == len(landmarks)
    h0 = topo["h0"]
    assert len(h0) == len(landmarks) and h0[-1][1] is None  # one component never dies
    deaths = np.array([d for _, d in h0[:-1]])
    assert np.all(np.diff(deaths) >= 0) and all(b == 0 for b, _ in h0)
    # H0 deaths are the single-linkage merge heights of the landmarks' latents.
    heights = np.sort(linkage(index.latents[landmarks].astype(np.float64), "single")[:, 2])
    np.testing.assert_allclose(deaths, heights, rtol=1e-4, atol=1e-5)
    lengths = [d - b for b, d in topo["h1"]]
    assert lengths == sorted(lengths, reverse=True) and all(x > 0 for x in lengths)
    assert topo["n_classes"] == len(index.label_names) == len(topo["classes"])
    assert index.labels is not None
    for c in topo["classes"]:
        code = index.label_names.index(c["label"])
        assert c["n_items"] == int(np.sum(index.labels == code))
        assert c["h0"][-1][1] is None and len(c["h0"]) == min(c["n_items"], 500)


def test_an_h0_bar_splits_the_items_into_the_two_groups_that_join_there(
    client: TestClient,
    api: str,
    topo: dict,
    index: LatentIndex,  # type: ignore[type-arg]
) -> None:
    last = len(topo["h0"]) - 2  # the last merge: the two biggest groups
    body = client.get(f"{api}/topology/h0/{last}").json()
    a, b = (np.asarray(g) for g in body["groups"])
    assert body["scale"] == pytest.approx(topo["h0"][last][1])
    assert len(a) + len(b) == len(index) and not set(a.tolist()) & set(b.tolist())
    # Just below the scale, single linkage of the landmarks has them in two separate clusters.
    landmarks = np.asarray(topo["landmark_ids"])
    tree = linkage(index.latents[landmarks].astype(np.float64), "single")
    clusters = fcluster(tree, t=body["scale"] * (1 - 1e-6), criterion="distance")
    of = dict(zip(landmarks.tolist(), clusters.tolist(), strict=True))
    in_a = {of[i] for i in a.tolist() if i in of}
    in_b = {of[i] for i in b.tolist() if i in of}
    assert len(in_a) == 1 and len(in_b) == 1 and in_a != in_b
    # Items that are not landmarks go with their nearest landmark.
    outside = np.setdiff1d(np.arange(len(index)), landmarks)[:50]
    for i in outside:
        d = np.linalg.norm(index.latents[landmarks] - index.latents[i], axis=1)
        nearest = int(landmarks[np.argmin(d)])
        assert (i in set(a.tolist())) == (nearest in set(a.tolist()))


def test_an_h1_bar_names_landmarks(client: TestClient, api: str, topo: dict) -> None:  # type: ignore[type-arg]
    if not topo["h1"]:
        pytest.fail("the model's latents have no loop at all: the H1 tests need one")
    body = client.get(f"{api}/topology/h1/0").json()
    assert len(body["ids"]) >= 2 and set(body["ids"]) <= set(topo["landmark_ids"])


@pytest.mark.parametrize("path", ["h0/100000", "h1/100000", "h0/-1", "h0/x"])
def test_bars_that_are_not_there_are_422(client: TestClient, api: str, path: str) -> None:
    assert_error(
        client.get(f"{api}/topology/{path}"),
        422,
        None if "x" in path or "-" in path else "no_such_bar",
    )


def test_the_infinite_bar_has_no_groups(client: TestClient, api: str, topo: dict) -> None:  # type: ignore[type-arg]
    message = assert_error(client.get(f"{api}/topology/h0/{len(topo['h0']) - 1}"), 422)
    assert "finite H0" in message


def test_unknown_model_is_404(client: TestClient) -> None:
    assert_error(client.get("/api/models/nope/topology"), 404)
    assert_error(client.get("/api/compare/topology", params={"a": "nope", "b": "nope"}), 404)


def test_a_model_is_at_distance_zero_from_itself(client: TestClient, model_name: str) -> None:
    body = client.get("/api/compare/topology", params={"a": model_name, "b": model_name}).json()
    for dim in ("h0", "h1"):
        assert body[dim]["bottleneck"] == 0.0 and body[dim]["wasserstein"] == 0.0

"""How far a decoded point is from the data, in every answer that decodes one (decode,
interpolate, traverse, arithmetic, encode), on the digits VAE and the shapes autoencoder: the
distance is a brute-force nearest-item distance from the returned latent, and its percentile and
label are the ones DataDistance gives it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.data_distance import DataDistance
from app.index.neighbors import NeighborIndex
from app.index.store import LatentIndex, load_index
from app.services.traversal import traversal_rows
from app.workspace import INDEX_DIR
from tests.api.helpers import encode_file
from tests.conftest import SHAPES_MODEL


class Served:
    """One model behind the app: its client, URL prefix, index and reference DataDistance."""

    def __init__(self, client: TestClient, api: str, index: LatentIndex) -> None:
        self.client, self.api, self.index = client, api, index
        self.Z = index.latents.astype(np.float64)  # (N, D)
        self.fitted = DataDistance().fit(NeighborIndex(index.latents), index.latents)

    def post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.client.post(f"{self.api}/{path}", **kwargs)
        assert response.status_code == 200, response.text[:300]
        body: dict[str, Any] = response.json()
        return body

    def check(self, latent: Any, answer: dict[str, Any]) -> str:
        """``answer`` (a data_distance object) describes ``latent``; returns its placement."""
        nearest = float(np.sqrt(((self.Z - np.asarray(latent)) ** 2).sum(1)).min())
        assert answer["distance"] == pytest.approx(nearest, abs=1e-5)
        # float32 search vs float64 scan: the rank may only move across items within 1e-5
        low, high = self.fitted.percentile([nearest - 1e-5, nearest + 1e-5])
        assert low <= answer["percentile"] <= high
        assert answer["placement"] == self.fitted.placement(answer["distance"])
        return str(answer["placement"])


@pytest.fixture(params=["digits", "shapes"])
def served(request: pytest.FixtureRequest) -> Served:
    if request.param == "digits":
        fixtures = ("client", "api", "index")
        return Served(*(request.getfixturevalue(name) for name in fixtures))
    folder = request.getfixturevalue("shapes_workspace") / SHAPES_MODEL
    client = request.getfixturevalue("shapes_client")
    return Served(client, f"/api/models/{SHAPES_MODEL}", load_index(folder / INDEX_DIR))


def between_clusters(s: Served) -> np.ndarray:
    """A latent past the items' 95th percentile from the nearest item, yet no farther than the
    most isolated item is: the midpoint of some pair of items, seeded."""
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, len(s.Z), (2000, 2))
    mids = (s.Z[pairs[:, 0]] + s.Z[pairs[:, 1]]) / 2  # (P, D)
    d = np.sqrt(((mids[:, None, :] - s.Z[None]) ** 2).sum(-1)).min(1)  # (P,)
    ok = np.flatnonzero((d > s.fitted.inside_distance_ * 1.01) & (d < s.fitted.item_distances_[-1]))
    assert ok.size, "no midpoint between clusters"
    return mids[ok[0]]


def test_decode_says_inside_between_or_far(served: Served) -> None:
    s = served
    item = s.post("decode", json={"id": 7})
    assert item["data_distance"]["distance"] == pytest.approx(0.0, abs=1e-6)
    assert s.check(item["latent"], item["data_distance"]) == "inside the data"
    mid = between_clusters(s)
    answer = s.post("decode", json={"latent": mid.tolist()})
    assert s.check(answer["latent"], answer["data_distance"]) == "between clusters"
    far = (s.Z.mean(0) + 10 * np.abs(s.Z).max()).tolist()
    answer = s.post("decode", json={"latent": far})
    assert s.check(answer["latent"], answer["data_distance"]) == "far from any item"
    assert answer["data_distance"]["percentile"] == 100.0
    # a click: the map point's latent, from the inverse map
    x, y = s.index.projections["umap"].embedding_.mean(0).tolist()
    answer = s.post("decode", json={"point": [x, y], "projection": "umap"})
    s.check(answer["latent"], answer["data_distance"])


def test_a_map_point_says_how_far_it_is_from_the_items_positions(served: Served) -> None:
    s = served
    xy = s.index.projections["umap"].embedding_.astype(np.float64)  # (N, 2)
    own = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.fill_diagonal(own, np.inf)
    spacing = own.min(1)  # every item's distance to its nearest other position
    on_item = xy[11].tolist()
    corner = (xy.max(0) + (xy.max(0) - xy.min(0))).tolist()  # far outside the points
    for point, expected in ((on_item, "on"), (corner, "away")):
        answer = s.post("decode", json={"point": point, "projection": "umap"})["data_distance"]
        d = float(np.sqrt(((xy - np.asarray(point)) ** 2).sum(1)).min())
        assert answer["map_distance"] == pytest.approx(d, abs=1e-5)
        share = 100.0 * float(np.mean(spacing <= d))  # every item measured: <= 10,000 here
        assert answer["map_percentile"] == pytest.approx(share, abs=100.0 / len(xy) + 1e-9)
        assert (answer["map_percentile"] >= 99.0) == (expected == "away")
    # the corner's latent blends the nearest items': it reads inside the data all the same
    assert answer["placement"] == "inside the data" and answer["map_percentile"] == 100.0
    for ref in ({"id": 3}, {"latent": s.index.latents[3].tolist()}):
        answer = s.post("decode", json=ref)["data_distance"]
        assert answer["map_distance"] is None and answer["map_percentile"] is None


def test_every_path_step_carries_its_distance(served: Served) -> None:
    s = served
    path = s.post("interpolate", json={"start": {"id": 3}, "end": {"id": 300}, "steps": 9})
    assert len(path["data_distances"]) == 9
    labels = [s.check(z, d) for z, d in zip(path["latents"], path["data_distances"], strict=True)]
    assert labels[0] == labels[-1] == "inside the data"
    assert path["data_distances"][0]["distance"] == pytest.approx(0.0, abs=1e-6)


def test_arithmetic_and_traversal_results_carry_theirs(served: Served) -> None:
    s = served
    term = {"vector": np.eye(s.Z.shape[1])[0].tolist(), "weight": 3.0}
    result = s.post("arithmetic", json={"start": {"id": 11}, "terms": [term], "k": 0})
    s.check(result["latent"], result["data_distance"])
    grid = s.post("traverse", json={"start": {"id": 11}, "steps": 5, "radius": 3.0})
    std = s.index.latents.std(0).astype(np.float64)
    rows = traversal_rows(s.index.latents[11], s.index.latents, 5, 3.0, std=std)
    assert len(grid["rows"]) == len(rows) == s.Z.shape[1]
    placements = set()
    for row, expected in zip(grid["rows"], rows, strict=True):
        assert len(row["data_distances"]) == 5
        for z, d in zip(expected.latents, row["data_distances"], strict=True):
            placements.add(s.check(z, d))
    assert "inside the data" in placements  # the middle column is the item itself


def test_an_upload_carries_its_distance(served: Served) -> None:
    s = served
    assert s.index.images is not None
    image = s.index.images[5]  # (C, H, W) uint8
    files = [("file", ("item.png", encode_file(image[0]), "image/png"))]
    (item,) = s.post("encode", files=files, params={"k": 0})["items"]
    assert s.check(item["latent"], item["data_distance"]) == "inside the data"

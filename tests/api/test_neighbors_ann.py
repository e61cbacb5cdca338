"""A server whose collection is past `ann_min_items` answers neighbours approximately, says so,
and still agrees with exact search almost everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.index.store import LatentIndex
from app.main import create_app
from tests.api.helpers import brute_force_neighbours


@pytest.fixture(scope="module")
def ann_client(settings: Settings) -> Iterator[TestClient]:
    # The session's model has 1,797 items: past 1,000, so the approximate index serves it.
    with TestClient(create_app(settings.model_copy(update={"ann_min_items": 1000}))) as client:
        yield client


def test_small_collections_are_searched_exactly(client: TestClient, api: str) -> None:
    result = client.post(f"{api}/neighbors", json={"id": 5, "k": 10}).json()
    assert result["exact"] is True


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_past_the_threshold_answers_are_approximate_and_agree_with_exact_search(
    ann_client: TestClient, api: str, index: LatentIndex, metric: str
) -> None:
    hits = 0
    items = range(0, 1797, 45)  # 40 items across the collection
    for item in items:
        response = ann_client.post(f"{api}/neighbors", json={"id": item, "k": 10, "metric": metric})
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["exact"] is False and item not in result["ids"]
        ids, dist = brute_force_neighbours(
            index.latents, index.latents[item], 10, metric, exclude=item
        )
        hits += len(set(result["ids"]) & set(ids.tolist()))
        # Where the answers agree, the distances are the exact ones.
        same = [i for i in result["ids"] if i in set(ids.tolist())]
        got = dict(zip(result["ids"], result["distances"], strict=True))
        want = dict(zip(ids.tolist(), dist.tolist(), strict=True))
        np.testing.assert_allclose([got[i] for i in same], [want[i] for i in same], atol=1e-6)
    assert hits / (10 * len(items)) >= 0.95

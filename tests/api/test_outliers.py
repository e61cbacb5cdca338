"""GET /api/models/{m}/outliers: the worst reconstructed items, in the order of the errors."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from app.services.outliers import worst_reconstructed
from models.data.items import ItemColumns
from tests.api.helpers import assert_error


def expected_order(errors: np.ndarray, n: int) -> np.ndarray:
    """Largest error first, ties by id: a stable argsort of the negated errors."""
    return np.argsort(-errors, kind="stable")[:n]


@pytest.mark.parametrize("n", [1, 20, 1000])
def test_outliers_are_the_largest_errors_in_descending_order(
    client: TestClient, api: str, index: LatentIndex, n: int
) -> None:
    response = client.get(f"{api}/outliers", params={"n": n})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "digits-vae-4" and body["count"] == len(index)
    outliers = body["outliers"]
    assert index.errors is not None and index.labels is not None
    order = expected_order(index.errors, n)
    assert [o["id"] for o in outliers] == order.tolist()
    errors = [o["error"] for o in outliers]
    assert errors == sorted(errors, reverse=True)
    np.testing.assert_allclose(errors, index.errors[order], rtol=1e-6)
    sorted_errors = np.sort(index.errors)
    for o in outliers:
        i = o["id"]
        assert o["name"] == index.item_names[i]
        assert o["label"] == index.label_names[index.labels[i]]
        # as the anomaly score of an upload: the share of items reconstructed at least as well
        at_most = np.searchsorted(sorted_errors, index.errors[i], side="right")
        assert o["percentile"] == pytest.approx(100.0 * at_most / len(index))
    assert outliers[0]["percentile"] == 100.0


def test_twenty_by_default(client: TestClient, api: str) -> None:
    body = client.get(f"{api}/outliers").json()
    assert len(body["outliers"]) == 20


def test_ties_are_ordered_by_id_and_the_percentile_counts_them(index: LatentIndex) -> None:
    errors = np.array([0.5, 0.9, 0.5, 0.1, 0.9, 0.5, 0.3], dtype=np.float32)
    items = ItemColumns(
        item_names=np.array([f"i{k}" for k in range(7)]),
        latents=np.zeros((7, 2), np.float32),
        errors=errors,
    )
    tied = LatentIndex(
        items=items,
        projections={},
        inverses={},
    )
    for n in range(1, 8):
        found = worst_reconstructed(tied, "m", n)
        assert [o.id for o in found] == expected_order(errors, n).tolist()
    found = worst_reconstructed(tied, "m", 4)
    assert [o.id for o in found] == [1, 4, 0, 2]
    # 0.9: every item at most as bad (100 %); 0.5: all but the two at 0.9 (5 of 7)
    assert [o.percentile for o in found] == pytest.approx([100, 100, 500 / 7, 500 / 7])
    assert all(o.label is None for o in found)
    assert len(worst_reconstructed(tied, "m", 50)) == 7  # more than there are: all of them


@pytest.mark.parametrize("bad", ["0", "-3", "1001", "abc", "2.5", ""])
def test_bad_n_is_a_422_naming_it(client: TestClient, api: str, bad: str) -> None:
    message = assert_error(client.get(f"{api}/outliers", params={"n": bad}), 422)
    assert message.startswith(("n: ", "n must")), message  # the message leads with the field


def test_unknown_model_is_a_404(client: TestClient) -> None:
    assert_error(client.get("/api/models/nope/outliers"), 404, "unknown_model")


def test_a_model_without_a_decoder_has_no_outliers(embeddings_client: TestClient) -> None:
    message = assert_error(embeddings_client.get("/api/models/emb/outliers"), 409, "no_decoder")
    assert "'emb'" in message and "decoder" in message and "reconstruction error" in message

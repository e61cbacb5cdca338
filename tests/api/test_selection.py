"""POST /api/models/{m}/selection/stats: every figure against a brute-force numpy computation,
on the session's digits VAE, on the shapes autoencoder (numeric metadata) and on embeddings
without a decoder; and the refusals."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.index.store import LatentIndex, load_index
from app.services.selection import MEDOID_EXACT, MEDOID_SEED, medoid_of
from app.workspace import INDEX_DIR
from models.data.items import ItemColumns
from tests.api.helpers import assert_error
from tests.conftest import SHAPES_MODEL

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def brute_medoid(latents: np.ndarray, ids: np.ndarray) -> int:
    """Every pair's distance in float64; the least row sum, ties to the lowest id."""
    z = latents[ids].astype(np.float64)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))  # (n, n)
    return int(ids[np.argmin(d.sum(1))])


def assert_distribution(found: dict[str, Any], values: np.ndarray, ids: np.ndarray) -> None:
    whole = values.astype(np.float64)
    picked = whole[ids]
    edges = np.linspace(whole.min(), whole.max(), 21)
    np.testing.assert_allclose(found["edges"], edges, rtol=1e-9, atol=1e-12)
    # a value on an inner edge could fall either side of it with float rounding: compare
    # the counts, whose sums must be exact
    assert found["total_counts"] == np.histogram(whole, bins=edges)[0].tolist()
    assert found["counts"] == np.histogram(picked, bins=edges)[0].tolist()
    assert sum(found["counts"]) == len(ids) and sum(found["total_counts"]) == len(values)
    assert found["levels"] == LEVELS
    np.testing.assert_allclose(found["quantiles"], np.quantile(picked, LEVELS), rtol=1e-9)
    np.testing.assert_allclose(found["total_quantiles"], np.quantile(whole, LEVELS), rtol=1e-9)
    assert found["mean"] == pytest.approx(picked.mean(), rel=1e-9)
    assert found["total_mean"] == pytest.approx(whole.mean(), rel=1e-9)


def assert_stats(body: dict[str, Any], index: LatentIndex, ids: np.ndarray) -> None:
    """Everything but the image, against numpy on the index read from disk."""
    assert body["count"] == len(ids) and body["n_items"] == len(index)
    assert index.labels is not None
    k = len(index.label_names)
    chosen = np.bincount(index.labels[ids], minlength=k)
    whole = np.bincount(index.labels, minlength=k)
    assert [row["label"] for row in body["labels"]] == list(index.label_names)
    assert [row["count"] for row in body["labels"]] == chosen.tolist()
    assert [row["total"] for row in body["labels"]] == whole.tolist()
    np.testing.assert_allclose([r["share"] for r in body["labels"]], chosen / len(ids))
    np.testing.assert_allclose([r["total_share"] for r in body["labels"]], whole / len(index))
    mean = index.latents[ids].astype(np.float64).mean(0)
    np.testing.assert_allclose(body["mean_latent"], mean, rtol=1e-5, atol=1e-6)
    medoid = brute_medoid(index.latents, ids)
    assert body["medoid"] == {
        "id": medoid,
        "name": str(index.item_names[medoid]),
        "exact": True,
        "sample_size": len(ids),
    }
    faith = index.faithfulness[body["projection"]]
    assert_distribution(body["faithfulness"], faith, ids)
    for summary, (name, column) in zip(body["metadata"], index.metadata.items(), strict=True):
        assert summary["field"] == name
        if np.issubdtype(column.dtype, np.number):
            values = column[ids].astype(np.float64)
            assert summary["kind"] == "number"
            assert summary["mean"] == pytest.approx(values.mean(), rel=1e-9)
            assert (summary["min"], summary["max"]) == (values.min(), values.max())
            assert summary["total_mean"] == pytest.approx(column.mean(), rel=1e-9)
        else:
            values, counts = np.unique(column[ids], return_counts=True)
            assert summary["kind"] == "text" and summary["n_distinct"] == len(values)
            top = sorted(zip(values.tolist(), counts.tolist(), strict=True), key=lambda p: -p[1])
            assert [[t["value"], t["count"]] for t in summary["top"]] == [list(p) for p in top[:5]]


def png_pixels(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_digits_selection_matches_numpy(
    client: TestClient, api: str, index: LatentIndex, decode_reference: Any
) -> None:
    rng = np.random.default_rng(3)
    ids = np.sort(rng.choice(len(index), 240, replace=False))
    sent = ids.tolist() + ids[:10].tolist()  # repeats count once
    response = client.post(f"{api}/selection/stats", json={"ids": sent, "projection": "pca"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "digits-vae-4" and body["projection"] == "pca"
    assert_stats(body, index, ids)
    assert index.errors is not None
    assert_distribution(body["reconstruction_error"], index.errors, ids)
    assert body["notes"] == []
    # the average member: the mean latent through the decoder, as the server renders images
    expected = decode_reference(np.asarray(body["mean_latent"], np.float32)[None])[0]
    got = png_pixels(body["average_member"]).astype(int)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1


def test_one_item_is_its_own_medoid_and_average(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    body = client.post(f"{api}/selection/stats", json={"ids": [42]}).json()
    assert body["count"] == 1 and body["medoid"]["id"] == 42
    np.testing.assert_allclose(body["mean_latent"], index.latents[42], rtol=1e-6)
    assert body["projection"] == "umap"  # the model's default projection
    assert sum(row["count"] for row in body["labels"]) == 1


def test_past_the_exact_limit_the_medoid_is_that_of_a_seeded_sample() -> None:
    n = MEDOID_EXACT + 700
    latents = np.random.default_rng(1).normal(size=(n, 3)).astype(np.float32)
    items = ItemColumns(item_names=np.array([f"i{k}" for k in range(n)]), latents=latents)
    index = LatentIndex(items=items, projections={}, inverses={})
    ids = np.arange(100, n)
    found = medoid_of(index, ids)
    sample = np.sort(np.random.default_rng(MEDOID_SEED).choice(ids, MEDOID_EXACT, replace=False))
    assert (found.exact, found.sample_size) == (False, MEDOID_EXACT)
    assert found.id == brute_medoid(latents, sample)
    assert found.name == f"i{found.id}"
    exact = medoid_of(index, ids[:MEDOID_EXACT])
    assert exact.exact and exact.id == brute_medoid(latents, ids[:MEDOID_EXACT])


def test_shapes_selection_summarises_numeric_factors(
    shapes_client: TestClient, shapes_workspace: Path
) -> None:
    index = load_index(shapes_workspace / SHAPES_MODEL / INDEX_DIR)
    numeric = [k for k, v in index.metadata.items() if np.issubdtype(v.dtype, np.number)]
    assert {"scale", "x", "y"} <= set(numeric)  # the factors this test is about
    ids = np.flatnonzero(index.metadata["scale"] > np.median(index.metadata["scale"]))
    response = shapes_client.post(
        f"/api/models/{SHAPES_MODEL}/selection/stats", json={"ids": ids.tolist()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_stats(body, index, ids)
    assert index.errors is not None
    assert_distribution(body["reconstruction_error"], index.errors, ids)
    scale = next(s for s in body["metadata"] if s["field"] == "scale")
    assert scale["min"] > np.median(index.metadata["scale"]) and scale["mean"] > scale["total_mean"]
    assert png_pixels(body["average_member"]).shape[:2] == (16, 16)


def test_without_a_decoder_there_is_no_image_and_no_error_distribution(
    embeddings_client: TestClient,
) -> None:
    response = embeddings_client.post("/api/models/emb/selection/stats", json={"ids": [1, 5, 9]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["average_member"] is None and body["reconstruction_error"] is None
    assert body["count"] == 3 and body["medoid"]["id"] in (1, 5, 9)
    assert any("no decoder" in note and "average-member" in note for note in body["notes"])
    assert any("no error distribution" in note for note in body["notes"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ids": []}, 422, "empty_selection"),
        ({"ids": [0, 1797]}, 404, "unknown_item"),
        ({"ids": [-1]}, 404, "unknown_item"),
        ({"ids": [2**70]}, 404, "unknown_item"),
        ({"ids": ["3"]}, 422, "invalid_input"),
        ({"ids": [True]}, 422, "invalid_input"),
        ({"ids": [1.5]}, 422, "invalid_input"),
        ({"ids": 3}, 422, "invalid_input"),
        ({}, 422, "invalid_input"),
        ({"ids": [1], "extra": 1}, 422, "invalid_input"),
        ({"ids": [1], "projection": "nope"}, 422, "unknown_projection"),
    ],
)
def test_bad_selections_are_refused_in_the_error_shape(
    client: TestClient, api: str, body: dict[str, Any], status: int, code: str
) -> None:
    message = assert_error(client.post(f"{api}/selection/stats", json=body), status, code)
    if code == "unknown_item":
        assert "ids run from 0 to 1796" in message
    if code == "empty_selection":
        assert "at least one item" in message


def test_too_many_ids_are_refused(client: TestClient, api: str) -> None:
    """Past the body limit (2 MB in the test settings) before any id is read."""
    ids = ",".join(["1"] * 1_100_000)
    response = client.post(
        f"{api}/selection/stats",
        content=f'{{"ids": [{ids}]}}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")

"""Aligned comparison (GET /api/compare/align, /change, /table): Procrustes undoes a turned,
scaled and shifted copy of a map, neighbourhood change matches a brute-force computation, and
the many-model table lists one value per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import load_index
from app.services.compare_change import procrustes
from app.workspace import INDEX_DIR
from tests.api.helpers import assert_error
from tests.compare_workspace import (
    EMBEDDINGS,
    OTHER,
    TWIN,
    TWIN_ANGLE,
    TWIN_SCALE,
    VAE,
    twin_transform,
)


def test_procrustes_undoes_a_turn_a_scale_a_shift_and_a_mirror() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)) * [3.0, 1.0]
    for mirror in (1.0, -1.0):
        y = twin_transform(x * [mirror, 1.0])
        found = procrustes(x, y)
        assert np.abs(found.aligned - x).max() < 1e-9
        assert found.scale == pytest.approx(1 / TWIN_SCALE, rel=1e-12)
        assert found.reflected == (mirror < 0) and found.rms < 1e-9
        assert np.allclose(found.scale * y @ found.rotation + found.translation, x, atol=1e-9)
    # Unrelated points: nothing to turn them by, and the disparity says so.
    noise = procrustes(x, rng.normal(size=(300, 2)))
    assert 0.9 < noise.disparity <= 1.0
    # scipy's disparity, and the least-squares turn: no small turn of the answer fits better.
    from scipy.spatial import procrustes as scipy_procrustes

    y = rng.normal(size=(300, 2)) + x
    best = procrustes(x, y)
    assert best.disparity == pytest.approx(scipy_procrustes(x, y)[2], rel=1e-9)
    centre = best.aligned.mean(0)
    # the map keeps the reference's spread (least squares would shrink it toward its centre)
    assert np.sum((best.aligned - centre) ** 2) == pytest.approx(np.sum((x - x.mean(0)) ** 2))
    for angle in (0.01, -0.01):
        c, s = np.cos(angle), np.sin(angle)
        other = (best.aligned - centre) @ np.array([[c, s], [-s, c]]) + centre
        assert np.sum((other - x) ** 2) > np.sum((best.aligned - x) ** 2)


@pytest.mark.parametrize("projection", ["pca", "umap"])
def test_a_turned_copy_aligns_onto_its_reference(
    compare_client: TestClient, compare_root: Path, projection: str
) -> None:
    params = {"reference": VAE, "model": TWIN, "projection": projection}
    response = compare_client.get("/api/compare/align", params=params)
    assert response.status_code == 200
    body = response.json()
    reference = load_index(compare_root / VAE / INDEX_DIR).projections[projection].embedding_
    aligned = np.column_stack([body["x"], body["y"]])
    assert aligned.shape == (1797, 2) and body["n_items"] == 1797
    # float32 storage of the twin's turned map is all that is lost
    assert np.abs(aligned - reference).max() < 1e-6
    assert body["scale"] == pytest.approx(1 / TWIN_SCALE, rel=1e-6)
    angle = np.arctan2(body["rotation"][0][1], body["rotation"][0][0])
    assert angle == pytest.approx(-TWIN_ANGLE, abs=1e-6) and not body["reflected"]
    assert body["rms"] < 1e-6 and body["disparity"] < 1e-12
    # A model aligned with itself stays where it is.
    itself = compare_client.get("/api/compare/align", params={**params, "model": VAE}).json()
    assert np.abs(np.column_stack([itself["x"], itself["y"]]) - reference).max() < 1e-6
    assert itself["scale"] == pytest.approx(1.0)


def test_two_different_models_align_only_partly(compare_client: TestClient) -> None:
    params = {"reference": VAE, "model": EMBEDDINGS, "projection": "pca"}
    body = compare_client.get("/api/compare/align", params=params).json()
    assert 0.05 < body["disparity"] < 1.0 and body["rms"] > 0.01


def brute_force_change(za: np.ndarray, zb: np.ndarray, k: int = 10) -> np.ndarray:
    """Each item's k nearest in ``za`` missing from its k nearest in ``zb``, by full float64
    distance matrices (ties by id)."""

    def knn(z: np.ndarray) -> np.ndarray:
        z = z.astype(np.float64)
        d = np.sqrt(np.maximum(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1), 0.0))
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1, kind="stable")[:, :k]

    a, b = knn(za), knn(zb)
    return np.array([1 - len(set(a[i]) & set(b[i])) / k for i in range(len(za))])


def test_neighbourhood_change_against_itself_is_zero(compare_client: TestClient) -> None:
    for model in (VAE, TWIN):  # the twin has the VAE's latents
        params = {"reference": VAE, "model": model}
        body = compare_client.get("/api/compare/change", params=params).json()
        assert body["k"] == 10 and body["n_items"] == 1797
        assert body["change"] == [0.0] * 1797 and body["mean"] == 0.0
        assert [c["change"] for c in body["most_changed"]] == [0.0] * 20


def test_neighbourhood_change_matches_a_brute_force_computation(
    compare_client: TestClient, compare_root: Path
) -> None:
    za = load_index(compare_root / VAE / INDEX_DIR).latents
    zb = load_index(compare_root / EMBEDDINGS / INDEX_DIR).latents
    expected = brute_force_change(za, zb)
    params = {"reference": VAE, "model": EMBEDDINGS, "top": 50}
    body = compare_client.get("/api/compare/change", params=params).json()
    change = np.asarray(body["change"])
    assert np.abs(change - expected).max() < 1e-9
    assert body["mean"] == pytest.approx(expected.mean(), abs=1e-9)
    assert 0.3 < body["mean"] < 1.0  # two unrelated latent spaces share few neighbours
    ids = [c["id"] for c in body["most_changed"]]
    assert ids == np.argsort(-expected, kind="stable")[:50].tolist()
    assert [c["change"] for c in body["most_changed"]] == pytest.approx(expected[ids])
    # the other way round is another question (B's neighbours missing from A's lists), but
    # with k on both sides the shares are the same
    back = compare_client.get("/api/compare/change", params={"reference": EMBEDDINGS, "model": VAE})
    assert back.json()["change"] == body["change"]


def test_the_table_has_one_value_per_model(compare_client: TestClient) -> None:
    models = f"{VAE},{EMBEDDINGS},{TWIN}"
    response = compare_client.get("/api/compare/table", params={"models": models})
    assert response.status_code == 200
    body = response.json()
    assert body["models"] == [VAE, EMBEDDINGS, TWIN] and body["n_items"] == 1797
    pair = compare_client.get("/api/compare", params={"a": VAE, "b": EMBEDDINGS}).json()
    rows = {row["key"]: row for row in body["figures"]}
    assert list(rows) == [f["key"] for f in pair["figures"]]
    for figure in pair["figures"]:
        row = rows[figure["key"]]
        # the twin is the VAE again: its figures are the VAE's
        assert row["values"] == [figure["a"], figure["b"], figure["a"]]
        assert row["better"] == figure["better"]
    assert rows["split_knn_accuracy"]["label"] == (
        f"kNN accuracy (k=5), held-out for {VAE}, {TWIN}; all items, cross-validated for "
        f"{EMBEDDINGS}"
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/compare/align", {"reference": VAE, "model": OTHER, "projection": "pca"}),
        ("/api/compare/change", {"reference": OTHER, "model": VAE}),
        ("/api/compare/table", {"models": f"{VAE},{EMBEDDINGS},{OTHER}"}),
    ],
)
def test_models_on_other_items_are_a_409(
    compare_client: TestClient, path: str, params: dict[str, str]
) -> None:
    message = assert_error(compare_client.get(path, params=params), 409, "not_comparable")
    assert OTHER in message and "400" in message


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (
            "/api/compare/align",
            {"reference": VAE, "model": "nope", "projection": "pca"},
            404,
            "unknown_model",
        ),
        (
            "/api/compare/align",
            {"reference": VAE, "model": TWIN, "projection": "nope"},
            422,
            "unknown_projection",
        ),
        ("/api/compare/align", {"reference": VAE, "model": TWIN}, 422, "invalid_input"),
        ("/api/compare/change", {"reference": "nope", "model": VAE}, 404, "unknown_model"),
        ("/api/compare/change", {"reference": VAE, "model": TWIN, "top": 0}, 422, "invalid_input"),
        ("/api/compare/table", {"models": f"{VAE},,{TWIN}"}, 422, "invalid_input"),
        ("/api/compare/table", {"models": ",".join([VAE] * 13)}, 422, "invalid_input"),
        ("/api/compare/table", {"models": f"{VAE},nope"}, 404, "unknown_model"),
    ],
)
def test_bad_requests_are_clear_4xx(
    compare_client: TestClient, path: str, params: dict[str, object], status: int, code: str
) -> None:
    assert_error(compare_client.get(path, params=params), status, code)

"""GET /api/models/{model}/anomaly and uploads' kNN score, on a tiny digits autoencoder trained
without digit 9 (tests/conftest.py's anomaly_workspace): the AUC against scikit-learn's on the
stored scores, the kNN score against a brute force, the histograms against their groups."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sklearn.metrics import roc_auc_score

from app.index.store import LatentIndex, load_index
from app.services.anomaly import require_anomaly, roc_curve
from app.workspace import INDEX_DIR
from models.errors import ConflictError
from models.training import holdout_split
from tests.api.helpers import serving
from tests.conftest import ANOMALY_MODEL

API = f"/api/models/{ANOMALY_MODEL}/anomaly"


@pytest.fixture(scope="module")
def anomaly_client(anomaly_workspace: Path) -> Iterator[TestClient]:
    with serving(anomaly_workspace) as client:
        yield client


@pytest.fixture(scope="module")
def stored(anomaly_workspace: Path) -> LatentIndex:
    return load_index(anomaly_workspace / ANOMALY_MODEL / INDEX_DIR)


def read_config(folder: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((folder / "config.json").read_text())
    return config


@pytest.fixture(scope="module")
def held_out(anomaly_workspace: Path) -> np.ndarray:
    config = read_config(anomaly_workspace / ANOMALY_MODEL)
    return np.asarray(config["training"]["holdout_ids"], dtype=np.int64)


def brute_knn(latents: np.ndarray, reference: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Mean euclidean distance of latents[ids] to their k nearest of latents[reference], an
    item of the reference scored without itself."""
    z = latents.astype(np.float64)
    d = np.linalg.norm(z[ids, None, :] - z[None, reference, :], axis=2)  # (M, R)
    d[ids[:, None] == reference[None, :]] = np.inf
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


def test_the_config_records_the_normal_classes_and_the_usual_held_out_split(
    anomaly_workspace: Path, held_out: np.ndarray
) -> None:
    config = read_config(anomaly_workspace / ANOMALY_MODEL)
    assert config["training"]["config"]["normal_classes"] == list(range(9))
    # the held-out split is drawn over every item, as for a model of every class
    assert held_out.tolist() == holdout_split(1797, 0.2, 0)[1].tolist()


@pytest.mark.parametrize("score", ["reconstruction", "knn"])
def test_auc_is_held_out_normal_items_against_the_anomalous_class(
    anomaly_client: TestClient, stored: LatentIndex, held_out: np.ndarray, score: str
) -> None:
    answer = anomaly_client.get(API, params={"score": score})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["normal_classes"] == [str(d) for d in range(9)]
    assert body["anomalous_classes"] == ["9"]
    assert body["k"] == (5 if score == "knn" else None)
    assert stored.labels is not None and stored.anomaly is not None and stored.errors is not None
    values = stored.errors if score == "reconstruction" else stored.anomaly.knn
    np.testing.assert_allclose(body["scores"], values, rtol=1e-6)
    labels = stored.labels
    negatives = held_out[labels[held_out] != 9]
    positives = np.flatnonzero(labels == 9)
    y = np.r_[np.zeros(len(negatives)), np.ones(len(positives))]
    expected = roc_auc_score(y, np.r_[values[negatives], values[positives]])
    assert body["roc"]["auc"] == pytest.approx(expected, abs=1e-9)
    assert 0.5 < body["roc"]["auc"] <= 1.0  # a 9 looks stranger than an unseen 0-8
    roc = body["roc"]
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(roc["thresholds"]) < 0) and roc["thresholds"][0] > max(body["scores"])
    # the histograms: one per group, sharing the edges, counting each group's items
    groups = {g["name"]: g for g in body["groups"]}
    assert groups["anomalous"]["n_items"] == len(positives) == 180
    assert groups["normal (held out)"]["n_items"] == len(negatives)
    assert groups["normal (trained on)"]["n_items"] == 1797 - len(positives) - len(negatives)
    assert len(body["edges"]) == len(groups["anomalous"]["counts"]) + 1
    for g in body["groups"]:
        assert sum(g["counts"]) == g["n_items"]
    sides = np.asarray(body["item_groups"])
    assert np.flatnonzero(sides == 1).tolist() == negatives.tolist()


def test_knn_score_is_the_mean_distance_to_the_5_nearest_normal_training_latents(
    stored: LatentIndex, held_out: np.ndarray
) -> None:
    assert stored.labels is not None and stored.anomaly is not None
    reference = np.setdiff1d(np.flatnonzero(stored.labels != 9), held_out)
    ids = np.arange(len(stored))
    expected = brute_knn(stored.latents, reference, ids, 5)
    np.testing.assert_allclose(stored.anomaly.knn, expected, rtol=1e-4, atol=1e-6)


def test_an_upload_gets_both_scores(
    anomaly_client: TestClient, stored: LatentIndex, held_out: np.ndarray
) -> None:
    assert stored.images is not None and stored.labels is not None
    item = int(np.flatnonzero(stored.labels == 9)[0])
    answer = anomaly_client.post(
        f"/api/models/{ANOMALY_MODEL}/encode",
        files={"file": ("nine.png", png_of(np.asarray(stored.images[item, 0])), "image/png")},
    )
    assert answer.status_code == 200, answer.text
    encoded = answer.json()["items"][0]
    assert encoded["reconstruction_error"] > 0
    latent = np.asarray(encoded["latent"], dtype=np.float32)
    reference = np.setdiff1d(np.flatnonzero(stored.labels != 9), held_out)
    z = np.vstack([stored.latents, latent[None]])
    expected = brute_knn(z, reference, np.array([len(stored)]), 5)[0]
    assert encoded["knn_score"] == pytest.approx(expected, rel=1e-4)
    # the item's own image, uploaded, scores as the item does
    assert stored.anomaly is not None
    assert encoded["knn_score"] == pytest.approx(float(stored.anomaly.knn[item]), rel=1e-3)


def test_a_model_of_every_class_is_refused_with_how_to_train_one(client: TestClient) -> None:
    answer = client.get("/api/models/digits-vae-4/anomaly")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "no_normal_classes"
    assert "--exclude-classes" in error["message"]
    upload = client.post(
        "/api/models/digits-vae-4/encode",
        files={"file": ("a.png", png_of(np.full((16, 16), 90, np.uint8)), "image/png")},
    )
    assert upload.status_code == 200 and upload.json()["items"][0]["knn_score"] is None


def test_an_unknown_score_is_422(anomaly_client: TestClient) -> None:
    answer = anomaly_client.get(API, params={"score": "mahalanobis"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"


def test_each_scores_report_is_made_once_and_kept(anomaly_client: TestClient) -> None:
    from app.schemas import AnomalyOut

    loaded = anomaly_client.app.state.explorer.store.get(ANOMALY_MODEL)  # type: ignore[attr-defined]
    knn = anomaly_client.get(API, params={"score": "knn"})
    assert knn.status_code == 200 and knn.headers["content-type"] == "application/json"
    assert loaded.anomaly_answers["knn"] == knn.content
    report = AnomalyOut.model_validate_json(knn.content)
    assert report.score == "knn" and len(report.scores) == len(loaded.index)
    again = anomaly_client.get(API, params={"score": "knn"})
    assert again.content == knn.content
    reconstruction = anomaly_client.get(API)  # the default score is kept apart
    assert reconstruction.json()["score"] == "reconstruction" != report.score
    assert set(loaded.anomaly_answers) == {"knn", "reconstruction"}


def test_the_reconstruction_score_needs_a_decoder(anomaly_client: TestClient) -> None:
    loaded = anomaly_client.app.state.explorer.store.get(ANOMALY_MODEL)  # type: ignore[attr-defined]
    blind = replace(
        loaded, index=replace(loaded.index, items=replace(loaded.index.items, errors=None))
    )
    with pytest.raises(ConflictError) as refused:
        require_anomaly(blind, "reconstruction")
    assert refused.value.code == "no_decoder"
    assert len(require_anomaly(blind, "knn")) == len(loaded.index)


def test_roc_counts_ties_half_and_is_none_without_one_side() -> None:
    roc = roc_curve(np.array([0.1, 0.5, 0.5]), np.array([0.5, 0.9]))
    assert roc is not None
    # pairs: (0.9 beats all 3) + (0.5 beats 0.1, ties two 0.5s) = 3 + 1 + 2 * 0.5 = 5 of 6
    assert roc.auc == pytest.approx(5 / 6)
    assert roc.fpr == [0.0, 0.0, 2 / 3, 1.0] and roc.tpr == [0.0, 0.5, 1.0, 1.0]
    assert roc_curve(np.array([]), np.array([1.0])) is None


def png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()

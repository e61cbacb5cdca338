"""GET /api/compare: two models on the same items side by side, and the 409 for two that are
not; the check itself on hand-made indexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.projection import PROJECTIONS
from app.index.store import LatentIndex, load_index
from app.services.compare import check_aligned
from app.workspace import INDEX_DIR
from models.data.items import ItemColumns
from models.errors import ConflictError
from tests.api.helpers import assert_error
from tests.compare_workspace import EMBEDDINGS, OTHER, TWIN, VAE


@pytest.fixture(scope="module")
def root(compare_root: Path) -> Path:
    return compare_root


@pytest.fixture(scope="module")
def cc(compare_client: TestClient) -> TestClient:
    return compare_client


@pytest.fixture(scope="module")
def quality(root: Path) -> dict[str, dict]:
    return {name: load_index(root / name / INDEX_DIR).quality for name in (VAE, EMBEDDINGS)}


def test_models_on_the_same_items_align_and_list_their_figures(
    cc: TestClient, quality: dict[str, dict]
) -> None:
    response = cc.get("/api/compare", params={"a": VAE, "b": EMBEDDINGS})
    assert response.status_code == 200
    body = response.json()
    assert (body["a"], body["b"], body["n_items"], body["aligned"]) == (
        VAE,
        EMBEDDINGS,
        1797,
        True,
    )
    figures = {f["key"]: f for f in body["figures"]}
    assert list(figures) == [
        "reconstruction_mse",
        "knn_accuracy",
        # the objective measures either model has (no shapes figures on digits)
        "split_knn_accuracy",
        "probe_accuracy",
        "alignment",
        "uniformity",
        "latent_std_ratio",
        "reconstruction_psnr",
        "denoising.psnr",
        "denoising.input_psnr",
        "trustworthiness.pca",
        "trustworthiness.umap",
        "trustworthiness.tsne",
        "faithfulness.pca",
        "faithfulness.umap",
        "faithfulness.tsne",
    ]
    qa, qb = quality[VAE], quality[EMBEDDINGS]
    # the VAE reconstructs; the embeddings have no decoder, so no figure (null)
    assert figures["reconstruction_mse"]["a"] == pytest.approx(qa["reconstruction_mse"])
    assert figures["reconstruction_mse"]["b"] is None and "reconstruction_mse" not in qb
    assert figures["reconstruction_mse"]["better"] == "lower"
    assert figures["knn_accuracy"]["a"] == pytest.approx(qa["knn_accuracy"])
    assert figures["knn_accuracy"]["b"] == pytest.approx(qb["knn_accuracy"])
    for key in ("trustworthiness", "faithfulness"):
        for projection in ("pca", "umap", "tsne"):
            row = figures[f"{key}.{projection}"]
            assert row["a"] == pytest.approx(qa[key][projection])
            assert row["b"] == pytest.approx(qb[key][projection])
            assert row["better"] == "higher" and PROJECTIONS[projection].label in row["label"]
    # the split each model is scored on is named: the VAE's recorded one, the import's CV
    split = figures["split_knn_accuracy"]
    assert split["label"] == (
        f"kNN accuracy (k=5), held-out for {VAE}; all items, cross-validated for {EMBEDDINGS}"
    )
    assert split["a"] == pytest.approx(qa["split_knn_accuracy"])
    assert split["b"] == pytest.approx(qb["split_knn_accuracy"])
    assert figures["alignment"]["b"] is None and figures["alignment"]["better"] == "lower"
    assert figures["denoising.psnr"]["label"] == "denoising PSNR (dB), gaussian:0.3"
    assert figures["denoising.psnr"]["a"] == pytest.approx(qa["denoising"]["psnr"])
    # the two models really differ (the table is not one model twice)
    assert figures["faithfulness.umap"]["a"] != figures["faithfulness.umap"]["b"]


def test_the_order_of_a_and_b_is_kept(cc: TestClient) -> None:
    forward = cc.get("/api/compare", params={"a": VAE, "b": EMBEDDINGS}).json()
    backward = cc.get("/api/compare", params={"a": EMBEDDINGS, "b": VAE}).json()
    for f, g in zip(forward["figures"], backward["figures"], strict=True):
        assert (f["a"], f["b"]) == (g["b"], g["a"])


def test_models_on_different_datasets_are_a_409_naming_the_difference(cc: TestClient) -> None:
    response = cc.get("/api/compare", params={"a": VAE, "b": OTHER})
    message = assert_error(response, 409, "not_comparable")
    assert "1797 items" in message and "400" in message and VAE in message and OTHER in message


@pytest.mark.parametrize("params", [{"a": "nope", "b": VAE}, {"a": VAE, "b": "nope"}])
def test_an_unknown_model_is_a_404(cc: TestClient, params: dict[str, str]) -> None:
    assert "nope" in assert_error(cc.get("/api/compare", params=params), 404, "unknown_model")


@pytest.mark.parametrize("params", [{}, {"a": VAE}, {"a": "", "b": VAE}])
def test_missing_models_are_a_422(cc: TestClient, params: dict[str, str]) -> None:
    assert_error(cc.get("/api/compare", params=params), 422, "invalid_input")


def test_each_model_lists_the_models_it_can_be_compared_with(cc: TestClient) -> None:
    for name, expected in [
        (VAE, [EMBEDDINGS, TWIN]),
        (EMBEDDINGS, [VAE, TWIN]),
        (TWIN, [EMBEDDINGS, VAE]),
        (OTHER, []),
    ]:
        response = cc.get(f"/api/models/{name}/comparable")
        assert response.status_code == 200
        assert response.json() == {"model": name, "comparable": expected}
    assert_error(cc.get("/api/models/nope/comparable"), 404, "unknown_model")


def test_the_compare_page_is_served(cc: TestClient) -> None:
    response = cc.get("/compare", params={"a": VAE, "b": EMBEDDINGS})
    assert response.status_code == 200
    assert 'src="/static/js/compare.js"' in response.text
    assert "/vendor/plotly.min.js" in response.text


def tiny_index(names: list[str]) -> LatentIndex:
    return LatentIndex(
        items=ItemColumns(
            item_names=np.array(names), latents=np.zeros((len(names), 2), np.float32)
        ),
        projections={},
        inverses={},
    )


def test_same_count_but_other_names_is_not_comparable() -> None:
    a = tiny_index(["x0", "x1", "x2", "x3"])
    check_aligned("a", a, "b", tiny_index(["x0", "x1", "x2", "x3"]))  # no error
    with pytest.raises(ConflictError) as caught:
        check_aligned("a", a, "b", tiny_index(["x0", "x1", "y2", "y3"]))
    assert caught.value.code == "not_comparable" and caught.value.status == 409
    assert "item 2 is 'x2' in 'a' but 'y2' in 'b'" in str(caught.value)
    assert "2 of 4 item names differ" in str(caught.value)
    with pytest.raises(ConflictError, match="same items in the same order"):
        check_aligned("a", a, "b", tiny_index(["x1", "x0", "x2", "x3"]))  # reordered


def test_imported_embeddings_say_their_figures_are_cross_validated(
    cc: TestClient, root: Path
) -> None:
    """No recorded split: kNN and probe over all items, 5-fold, recomputed here."""
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    quality = cc.get(f"/api/models/{EMBEDDINGS}").json()["quality"]
    assert quality["split"] == "all items, cross-validated"
    assert quality["split_n_test"] == 1797  # every item, once, under the 5,000 sample cap
    index = load_index(root / EMBEDDINGS / INDEX_DIR)
    z, labels = index.latents.astype(np.float64), np.asarray(index.labels)
    cv = KFold(n_splits=5, shuffle=True, random_state=0)
    predicted = cross_val_predict(KNeighborsClassifier(n_neighbors=5), z, labels, cv=cv)
    assert quality["split_knn_accuracy"] == pytest.approx(np.mean(predicted == labels), abs=1e-9)
    assert 0.5 < quality["probe_accuracy"] <= 1.0  # a random projection of the pixels
    # no encoder and no decoder: no alignment, no PSNR; uniformity for every model
    assert quality["alignment"] is None and quality["denoising"] is None
    assert quality["reconstruction_psnr"] is None and quality["uniformity"] < 0

"""``index --engine ray``: a local Ray encodes a folder of images as the in-process build does.

One module-scoped local Ray (2 CPUs, no dashboard, no usage statistics) and one tiny model
trained on 2,000 PNGs; the streamed in-process index is the reference.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

N_IMAGES = 2000


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    import ray

    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


def train_on_pngs(root: Path, n_images: int, normal_classes: list[str] | None = None) -> Path:
    """The model folder of an AE trained for one epoch on ``n_images`` 8 px PNGs in two classes
    ("dark", "bright"); on ``normal_classes`` only when given."""
    from PIL import Image

    from app.services.training import TrainRequest, train_model
    from models.device import resolve_device
    from models.training import TrainConfig

    rng = np.random.default_rng(0)
    for i in range(n_images):
        cls = "bright" if i % 2 else "dark"
        (root / "imgs" / cls).mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((8, 8)) * 128 + (127 if i % 2 else 0)).astype(np.uint8)
        Image.fromarray(pixels).save(root / "imgs" / cls / f"{i:05d}.png")
    request = TrainRequest(
        dataset=f"folder:{root / 'imgs'}", architecture="ae", latent_dim=4, image_size=8,
        width=4, name="imgs-ae", train=TrainConfig(epochs=1, seed=0, progress=False),
        normal_classes=normal_classes,
    )  # fmt: skip
    folder, _ = train_model(request, root / "ws", resolve_device("cpu"), build_index=False)
    return folder


@pytest.fixture(scope="module")
def folder_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_on_pngs(tmp_path_factory.mktemp("ray"), N_IMAGES)


@pytest.fixture(scope="module")
def small_folder_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 images: the CLI fits every projection (UMAP, t-SNE), seconds at this size."""
    return train_on_pngs(tmp_path_factory.mktemp("ray-small"), 200)


def test_ray_latents_neighbours_and_quality_match_the_in_process_build(
    ray_local: None, folder_model: Path
) -> None:
    from app.index.ensure import ensure_index
    from app.index.fitting import IndexParams
    from app.index.neighbors import NeighborIndex
    from app.index.ray_encode import RayOptions, ray_index
    from models.registry import load_checkpoint

    model, info = load_checkpoint(folder_model, "cpu")
    params = IndexParams(projections=("pca",))  # the encoding is under test, not UMAP
    local, built = ensure_index(folder_model, model, info, params, "cpu", force=True)
    assert built and len(local) == N_IMAGES
    remote, built = ray_index(folder_model, info, params, RayOptions(), force=True)
    assert built and len(remote) == N_IMAGES

    np.testing.assert_allclose(remote.latents, local.latents, atol=1e-5, rtol=0)
    assert remote.errors is not None and local.errors is not None
    np.testing.assert_allclose(remote.errors, local.errors, atol=1e-5, rtol=0)
    assert remote.data_sha256 == local.data_sha256 and remote.key == local.key
    queries = local.latents[:200]
    near_local, _ = NeighborIndex(local.latents).query(queries, k=10)
    near_remote, _ = NeighborIndex(remote.latents).query(queries, k=10)
    assert (near_local == near_remote).mean() >= 0.99  # ties within 1e-5 may swap places
    assert remote.quality["knn_accuracy"] == pytest.approx(local.quality["knn_accuracy"], abs=1e-3)
    trust = remote.quality["trustworthiness"]["pca"]
    assert trust == pytest.approx(local.quality["trustworthiness"]["pca"], abs=1e-4)
    assert remote.quality["reconstruction_mse"] == pytest.approx(
        local.quality["reconstruction_mse"], rel=1e-5
    )
    # The held-out read-outs are measured on the same split as in-process: the model's own.
    assert remote.quality["split"] == local.quality["split"] == "held-out"
    for key in ("split_n_test", "split_knn_accuracy", "probe_accuracy"):
        assert remote.quality[key] == pytest.approx(local.quality[key], abs=1e-3), key
    assert not list(folder_model.glob(".index.ray-*"))  # the scratch shards are gone


def test_ray_index_of_a_normal_classes_model_scores_every_item_as_the_in_process_build(
    ray_local: None, tmp_path: Path
) -> None:
    from app.index.ensure import ensure_index
    from app.index.fitting import IndexParams
    from app.index.ray_encode import RayOptions, ray_index
    from models.registry import load_checkpoint

    folder = train_on_pngs(tmp_path, 400, normal_classes=["dark"])
    model, info = load_checkpoint(folder, "cpu")
    params = IndexParams(projections=("pca",))
    local, _ = ensure_index(folder, model, info, params, "cpu", force=True)
    remote, _ = ray_index(folder, info, params, RayOptions(), force=True)
    assert local.anomaly is not None and remote.anomaly is not None
    assert remote.anomaly.normal_classes == local.anomaly.normal_classes == [1]  # bright 0, dark 1
    np.testing.assert_allclose(remote.anomaly.knn, local.anomaly.knn, atol=1e-4, rtol=0)
    assert remote.quality["split"] == "held-out"


def test_cli_engine_ray_keeps_a_fresh_index_and_writes_shards_where_asked(
    ray_local: None, small_folder_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import pyarrow.parquet as pq

    from app.cli import main
    from app.index.store import load_index
    from app.workspace import index_dir

    caplog.set_level(logging.INFO, logger="latent_explorer")
    ws = str(small_folder_model.parent)
    shards = tmp_path / "shards"
    args = ["index", "--workspace", ws, "--engine", "ray", "--no-progress", "--device", "cpu"]
    assert main([*args, "--force", "--ray-shards", str(shards)]) == 0
    table = pq.read_table(shards)
    assert table.num_rows == 200 and set(table.column_names) == {"id", "latent", "error"}
    assert table.schema.field("latent").type.list_size == 4
    latents = table.sort_by("id").column("latent").combine_chunks().flatten().to_numpy()
    saved = load_index(index_dir(small_folder_model)).latents
    np.testing.assert_array_equal(saved, latents.reshape(200, 4))
    # Fresh now, for either engine: the same key and data hash as the in-process build.
    caplog.clear()
    local = ["index", "--workspace", ws, "--no-progress", "--device", "cpu"]
    assert main(args) == 0 and main(local) == 0
    assert caplog.text.count("imgs-ae: index is up to date (cached)") == 2
    assert main([*args, "--force", "--ray-shards", str(shards)]) == 2  # not empty: refused


def test_without_ray_the_engine_says_how_to_install_it(
    folder_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    ws = str(folder_model.parent)
    assert main(["index", "--workspace", ws, "--engine", "ray", "--device", "cpu"]) == 2
    assert "pip install 'latent-explorer[ray]'" in capsys.readouterr().err

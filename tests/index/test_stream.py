"""Streamed folder indexing: the in-memory build's result, in bounded memory, CSV included."""

from __future__ import annotations

import functools
import json
import logging
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app.cli import main
from app.index.build import build_index, dataset_for
from app.index.ensure import ensure_index
from app.index.fitting import IndexParams, data_hash
from app.index.store import LatentIndex, load_index, read_manifest
from app.index.stream import SCRATCH_PREFIX, refresh_folder_index, scan_folder
from app.services.attributes import derive_attributes
from app.workspace import index_dir
from models.base import LatentModel
from models.checkpoint import CheckpointInfo
from models.data.folder import list_folder, load_folder
from models.errors import DatasetError
from models.registry import load_checkpoint, save_checkpoint
from models.training import encode_all
from models.vae import ConvVAE, VAEConfig

PCA_ONLY = IndexParams(projections=("pca",))  # UMAP's fit would be most of every test's time


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One torch thread: two on two cores shared with other work stall for tens of ms a layer."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _write_folder(root: Path, per_class: int = 24) -> None:
    """Two classes of 12x12 RGB images, a corrupt file, and a metadata.csv with a text column
    (smiling: the brighter half), a numeric one with gaps, and two images left without a row."""
    rng = np.random.default_rng(0)
    rows = ["file,smiling,age"]
    for c, cls in enumerate(("frown", "grin")):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            level = 40 + 150 * (i % 2) + 20 * c
            pixels = np.clip(rng.normal(level, 30, (12, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i:02d}.png")
            if i < per_class - 1:
                rows.append(f"{cls}/{i:02d}.png,{'yes' if i % 2 else 'no'},{i if i % 3 else ''}")
    (root / "grin" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")


def _checkpoint(
    folder: Path, images: Path, **dataset: object
) -> tuple[LatentModel, CheckpointInfo]:
    """A seeded, untrained tiny VAE recorded as trained on ``folder:images`` (16 px, RGB)."""
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(image_shape=(3, 16, 16), latent_dim=3, width=4))
    spec = {"spec": f"folder:{images}", "image_size": 16, "channels": 3, "size": None, "seed": 0}
    save_checkpoint(model, folder, dataset=spec | dataset)
    return load_checkpoint(folder)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pictures")
    _write_folder(root)
    return root


def _same_columns(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key])  # NaN equals NaN here


def test_streamed_index_is_the_in_memory_build(images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pictures-vae-3"
    model, info = _checkpoint(folder, images)
    memory = build_index(model, info, dataset_for(info), PCA_ONLY)
    # batch 5: 48 readable images end in a partial batch, and batches straddle the classes
    streamed, built = refresh_folder_index(folder, model, info, PCA_ONLY, batch_size=5)

    assert built and len(streamed) == len(memory) == 48
    np.testing.assert_allclose(streamed.latents, memory.latents, rtol=1e-5, atol=1e-6)
    assert streamed.errors is not None and memory.errors is not None
    np.testing.assert_allclose(streamed.errors, memory.errors, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(streamed.images), memory.images)
    assert streamed.item_names.tolist() == memory.item_names.tolist()
    assert streamed.labels is not None and memory.labels is not None
    assert streamed.labels.tolist() == memory.labels.tolist()
    assert streamed.label_field == "class" and streamed.label_names == ("frown", "grin")
    _same_columns(streamed.metadata, memory.metadata)
    assert streamed.data_sha256 == memory.data_sha256 == data_hash(dataset_for(info))
    assert streamed.key == memory.key
    assert streamed.quality["n_items"] == 48
    np.testing.assert_allclose(
        streamed.projections["pca"].embedding_, memory.projections["pca"].embedding_, atol=1e-5
    )
    assert {"decode", "encode", "pca"} <= set(streamed.timings)

    # Saved whole; the scratch copy is gone and the returned index reads the saved images.
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "index", "model.safetensors"]
    assert isinstance(streamed.images, np.memmap)
    assert Path(streamed.images.filename) == index_dir(folder) / "images.npy"
    saved = load_index(index_dir(folder))
    np.testing.assert_array_equal(saved.latents, streamed.latents)
    _same_columns(saved.metadata, memory.metadata)


def test_csv_columns_flow_into_attribute_vectors(images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pictures-vae-3"
    model, info = _checkpoint(folder, images)
    refresh_folder_index(folder, model, info, PCA_ONLY)
    index = load_index(index_dir(folder))  # what the server holds: read back from disk
    smiling = index.metadata["smiling"]
    assert smiling.dtype.kind == "U" and sorted(set(smiling.tolist())) == ["", "no", "yes"]
    assert np.isnan(index.metadata["age"]).sum() == 2 + 16  # 2 without a row, 16 blank cells

    attributes = {a.id: a for a in derive_attributes(index)}
    yes = attributes["smiling=yes"]
    mask, other = smiling == "yes", smiling == "no"  # blanks (no row) are on neither side
    assert (yes.kind, yes.field, yes.n_a, yes.n_b) == ("value", "smiling", 22, 24)
    assert "smiling=" not in attributes  # a missing value is not a value
    expected = index.latents[mask].mean(0) - index.latents[other].mean(0)
    np.testing.assert_allclose(yes.vector, expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(yes.effect_size) and yes.effect_size > 0
    # A column with gaps is still a factor vector, over the items that have a value.
    age = index.metadata["age"]
    finite = np.isfinite(age)
    low, high = np.quantile(age[finite], [1 / 3, 2 / 3])
    factor = attributes["age:high-low"]
    assert (factor.n_a, factor.n_b) == (int((age >= high).sum()), int((age <= low).sum()))


def test_a_seeded_subset_streams_the_items_load_folder_picks(images: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(image_shape=(3, 16, 16), latent_dim=3, width=4)).eval()
    scan = scan_folder(
        list_folder(images), model, tmp_path, image_size=16, channels=3, size=11, seed=4,
        batch_size=4,
    )  # fmt: skip
    subset = load_folder(images, image_size=16, channels=3, size=11, seed=4)
    assert scan.items.item_names.tolist() == subset.item_names.tolist()
    assert scan.items.item_names.tolist() == sorted(scan.items.item_names.tolist())
    assert subset.item_names.tolist() != sorted(list_folder(images).names)[:11]  # a real subset
    np.testing.assert_array_equal(np.asarray(scan.items.images), subset.images)
    latents, errors = encode_all(model, subset.images, "cpu")
    np.testing.assert_allclose(scan.items.latents, latents, rtol=1e-5, atol=1e-6)
    assert errors is not None and scan.items.errors is not None
    np.testing.assert_allclose(scan.items.errors, errors, rtol=1e-5, atol=1e-7)
    _same_columns(scan.items.metadata, subset.metadata)


def test_ensure_index_streams_a_folder_model_and_then_reads_the_cache(
    images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pictures-vae-3"
    model, info = _checkpoint(folder, images)

    def in_memory(*args: object, **kwargs: object) -> None:
        raise AssertionError("a folder model without data must not be loaded into memory")

    monkeypatch.setattr("app.index.ensure.dataset_for", in_memory)
    monkeypatch.setattr("app.index.ensure.build_index", in_memory)
    index, built = ensure_index(folder, model, info, PCA_ONLY)
    assert built and len(index) == 48 and isinstance(index, LatentIndex)
    again, built = ensure_index(folder, model, info, PCA_ONLY)
    assert not built and again.data_sha256 == index.data_sha256


def test_index_command_rebuilds_when_metadata_csv_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pictures = tmp_path / "pictures"
    _write_folder(pictures, per_class=12)
    workspace = tmp_path / "ws"
    _checkpoint(workspace / "pictures-vae-3", pictures)
    monkeypatch.setattr(
        "app.index.fitting.IndexParams", functools.partial(IndexParams, projections=("pca",))
    )
    manifest = index_dir(workspace / "pictures-vae-3") / "manifest.json"
    command = ["index", "--workspace", str(workspace), "--device", "cpu", "--no-progress"]

    def run() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="latent_explorer"):
            assert main(command) == 0
        return [r.getMessage() for r in caplog.records if r.name == "latent_explorer"]

    assert "index built in" in run()[0]
    before = manifest.stat().st_mtime_ns
    assert run() == ["pictures-vae-3: index is up to date (cached)"]
    assert manifest.stat().st_mtime_ns == before

    csv_path = pictures / "metadata.csv"
    csv_path.write_text(csv_path.read_text().replace("file,smiling,age", "file,smiling,years"))
    assert "index built in" in run()[0]
    assert json.loads(manifest.read_text())["metadata_fields"] == [
        "class", "file", "smiling", "years"
    ]  # fmt: skip


def test_a_bad_csv_or_an_unreadable_folder_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pictures = tmp_path / "pictures"
    _write_folder(pictures, per_class=3)
    workspace = tmp_path / "ws"
    folder = workspace / "pictures-vae-3"
    model, info = _checkpoint(folder, pictures)
    with (pictures / "metadata.csv").open("a") as csv_file:
        csv_file.write("grin/99.png,yes,3\n")
    code = main(["index", "--workspace", str(workspace), "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err
    assert f"{pictures / 'metadata.csv'}: line 6, column 1 ('file'): no image 'grin/99.png'" in err

    (pictures / "metadata.csv").unlink()
    for png in pictures.rglob("*.png"):
        png.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="no readable images in"):
        refresh_folder_index(folder, model, info, PCA_ONLY)
    assert read_manifest(index_dir(folder)) is None
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert not any(p.name.startswith(SCRATCH_PREFIX) for p in folder.iterdir())


def test_streaming_memory_stays_flat_as_the_folder_grows(tmp_path: Path) -> None:
    """Peak traced memory (numpy and Python allocations) of the decode-and-encode phase, at
    1,000 and 4,000 images of 16x16 RGB in batches of 64, against the in-memory loader."""
    sizes = {"warm": 2, "small": 1000, "big": 4000}
    base = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(sizes["big"]):
        pixels = np.roll(base, i % 16, axis=0) ^ np.uint8(i % 251)
        Image.fromarray(pixels).save(big / f"{i:05d}.png", compress_level=0)
    for name in ("warm", "small"):  # the same files, linked: writing PNGs is the slow part
        (tmp_path / name).mkdir()
        for i in range(sizes[name]):
            os.link(big / f"{i:05d}.png", tmp_path / name / f"{i:05d}.png")
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(image_shape=(3, 16, 16), latent_dim=3, width=4)).eval()

    peaks = {}
    for name in ("warm", "small", "big"):  # "warm": first calls' one-off allocations
        listing = list_folder(tmp_path / name)  # names only: cheap, and outside the trace
        scratch = tmp_path / f"scratch-{name}"
        scratch.mkdir()
        tracemalloc.start()
        scan = scan_folder(listing, model, scratch, image_size=16, channels=3, batch_size=64)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert scan.items.latents.shape == (sizes[name], 3)
        del scan
    tracemalloc.start()
    loaded = load_folder(big, image_size=16, channels=3)
    in_memory = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    image_bytes = 3 * 16 * 16
    assert loaded.images.nbytes == sizes["big"] * image_bytes
    assert in_memory >= loaded.images.nbytes  # the loader holds every image, and then some
    # Streaming holds a small fraction of that ...
    assert peaks["big"] < in_memory / 8, (peaks, in_memory)
    assert peaks["big"] < loaded.images.nbytes / 4, peaks
    # ... and each extra item costs its latents, error and name, not its pixels (measured
    # about 110 bytes an item, against 768 bytes of pixels).
    per_item = (peaks["big"] - peaks["small"]) / (sizes["big"] - sizes["small"])
    assert per_item < image_bytes / 4, (peaks, per_item)


def test_scratch_left_by_a_killed_run_is_removed_and_nothing_else(
    images: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ws" / "pictures-vae"
    model, info = _checkpoint(folder, images)
    # what a SIGKILLed run leaves: a scratch folder of decoded images beside the index
    stale = folder / f"{SCRATCH_PREFIX}k1ll3d"
    stale.mkdir()
    np.save(stale / "decoded.npy", np.zeros((4, 3, 16, 16), np.uint8))
    # look-alikes that are not this model's scratch folders stay
    (folder / f"{SCRATCH_PREFIX}note.txt").write_text("a file, not a scratch folder")
    (folder / "index.stream-keep").mkdir()
    elsewhere = tmp_path / "ws" / f"{SCRATCH_PREFIX}other"
    elsewhere.mkdir()
    index, built = refresh_folder_index(folder, model, info, PCA_ONLY)
    assert built and len(index) == 48
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{SCRATCH_PREFIX}note.txt", "config.json", "index", "index.stream-keep",
        "model.safetensors",
    ]  # fmt: skip
    assert elsewhere.is_dir()

"""The latent-explorer command: train, index, info; bad input exits non-zero in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

FAST = ["--epochs", "1", "--image-size", "8", "--width", "4", "--no-progress", "--device", "cpu"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=300
    )


def test_train_writes_a_model_folder_with_checkpoint_and_index(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = run_cli(
        "train",
        "--dataset",
        "shapes",
        "--size",
        "300",
        "--model",
        "ae",
        "--latent-dim",
        "3",
        "--out",
        str(ws),
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    folder = ws / "shapes-ae-3"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "index", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["dataset"]["spec"] == "shapes" and config["dataset"]["size"] == 300
    assert config["training"]["epochs_run"] == 1
    manifest = json.loads((folder / "index" / "manifest.json").read_text())
    assert manifest["n_items"] == 300 and manifest["label_field"] == "shape"
    quality = manifest["quality"]
    assert {"x", "y", "scale", "rotation"} <= set(quality["factor_r2"])
    # the objective measures on shapes: per-factor R^2 and shape accuracy on the held-out 60
    assert (quality["split"], quality["split_n_test"]) == ("held-out", 60)
    assert set(quality["shape_factor_r2"]) == {"x", "y", "scale", "rotation"}
    assert all(-1.5 < r2 <= 1.0 for r2 in quality["shape_factor_r2"].values())
    assert 0.0 <= quality["shape_accuracy"] <= 1.0
    # `info` lists it, as JSON lines and as text; `index` finds the cache up to date
    info = run_cli("info", "--json", "--workspace", str(ws))
    assert json.loads(info.stdout)["name"] == "shapes-ae-3"
    text = run_cli("info", "--workspace", str(ws)).stdout.splitlines()
    assert text[0] == "shapes-ae-3: ae · shapes · 300 items · latent 3"
    labels = next(line for line in text if line.strip().startswith("labels"))
    accuracy = f"kNN {100 * quality['split_knn_accuracy']:.1f}%"
    assert f"held-out (60 items): {accuracy}" in labels
    shapes = next(line for line in text if line.strip().startswith("shapes factors"))
    assert f"x {quality['shape_factor_r2']['x']:.2f}" in shapes and "shape accuracy" in shapes
    before = (folder / "index" / "manifest.json").stat().st_mtime_ns
    again = run_cli("index", "--workspace", str(ws), "--device", "cpu")
    assert again.returncode == 0 and "up to date" in again.stderr
    assert (folder / "index" / "manifest.json").stat().st_mtime_ns == before
    assert [p.name for p in ws.iterdir()] == ["shapes-ae-3"]  # nothing temporary left


def test_training_is_deterministic_under_a_seed(tmp_path: Path) -> None:
    args = ["--dataset", "digits", "--size", "200", "--seed", "3", "--no-index", *FAST]
    assert main(["train", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["train", "--out", str(tmp_path / "b"), *args]) == 0
    a = (tmp_path / "a" / "digits-vae-8" / "model.safetensors").read_bytes()
    b = (tmp_path / "b" / "digits-vae-8" / "model.safetensors").read_bytes()
    assert a == b


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "digitz"], "unknown dataset 'digitz': choose one of digits, shapes"),
        (
            ["--model", "gan"],
            "unknown model architecture 'gan': choose one of "
            "ae, dae, jepa, siamese, simclr, triplet, vae",
        ),
        (["--latent-dim", "0"], "latent dimension 0 is out of range"),
        # Refused before training: PCA and UMAP need two dimensions to draw the map.
        (["--latent-dim", "1"], "latent dimension 1 is out of range: allowed 2 to 1024"),
        (["--image-size", "1000"], "image size 1000"),
        (["--dataset", "folder:/nonexistent/x"], "/nonexistent/x"),
        (["--dataset", "mnist"], "--data-dir"),
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--name", "../evil"], "invalid model name '../evil'"),
        # anomaly detection: classes checked against the dataset's labels before training
        (
            ["--exclude-classes", "10"],
            "--exclude-classes: the dataset has no class '10'; its classes: 0, 1, 2, 3, 4, 5, "
            "6, 7, 8, 9",
        ),
        (["--normal-classes", "0,1,cat"], "--normal-classes: the dataset has no class 'cat'"),
        (
            ["--normal-classes", "0,1,2,3,4,5,6,7,8,9"],
            "--normal-classes must leave at least one normal class and at least one anomalous",
        ),
        (["--exclude-classes", ","], "--exclude-classes must leave at least one normal class"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    ws = tmp_path / "ws"
    code = main(["train", "--out", str(ws), *FAST, *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not ws.exists() or list(ws.iterdir()) == []  # nothing half-written


def test_normal_and_excluded_classes_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--normal-classes", "0,1", "--exclude-classes", "9"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_folder_of_images_trains_and_counts_corrupt_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((10, 10)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    ws = tmp_path / "ws"
    code = main(["train", "--dataset", f"folder:{tmp_path / 'imgs'}", "--out", str(ws), *FAST])
    assert code == 0
    config = json.loads((ws / "imgs-vae-8" / "config.json").read_text())
    assert config["dataset"]["n_items"] == 24 and config["dataset"]["skipped"] == 1


def test_a_full_disk_gives_a_clear_message_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "model.safetensors")

    monkeypatch.setattr("safetensors.torch.save_file", full)
    ws = tmp_path / "ws"
    code = main(["train", "--dataset", "digits", "--size", "100", "--out", str(ws), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "no space left on the device" in err
    assert list(ws.iterdir()) == []


def test_index_with_no_models_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "--workspace", str(tmp_path), "--device", "cpu"]) == 2
    assert "no models found" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():  # on a GPU machine, cuda is valid: check it is picked instead
        from models.device import resolve_device

        assert resolve_device("auto").type == "cuda"
        return
    assert main(["index", "--workspace", "/nonexistent", "--device", "cuda"]) == 2
    assert "no CUDA GPU is available" in capsys.readouterr().err

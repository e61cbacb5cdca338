"""Checkpoints: safetensors + JSON, rebuild themselves, refuse anything damaged in one line."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from models.base import build_model
from models.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_checkpoint, save_checkpoint
from models.errors import CheckpointError

DATASET = {"spec": "digits", "image_size": 16}


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [1, 16, 16], "latent_dim": 3, "width": 8})
    folder = tmp_path / "m"
    save_checkpoint(model, folder, dataset=DATASET, training={"epochs_run": 1})
    return folder, model


def test_round_trip_rebuilds_the_model_and_gives_identical_latents(saved) -> None:
    folder, model = saved
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["architecture"] == "vae" and config["image_shape"] == [1, 16, 16]
    assert config["args"]["latent_dim"] == 3 and config["dataset"] == DATASET
    assert config["normalisation"]["range"] == [0.0, 1.0]
    assert {"torch", "python", "safetensors"} <= set(config["versions"])
    loaded, info = load_checkpoint(folder)
    assert not loaded.training  # eval mode
    x = torch.rand(5, 1, 16, 16)
    with torch.inference_mode():
        assert torch.equal(loaded.encode(x), model.eval().encode(x))  # bit for bit
    assert info.training == {"epochs_run": 1}


def test_saving_over_an_existing_checkpoint_replaces_it_whole(saved) -> None:
    folder, _ = saved
    other = build_model("ae", {"image_shape": [1, 16, 16], "latent_dim": 2, "width": 8})
    save_checkpoint(other, folder, dataset=DATASET)
    assert load_checkpoint(folder)[1].architecture == "ae"
    assert [p.name for p in folder.parent.iterdir()] == ["m"]  # no temporary folders left


def test_no_pickle_is_ever_loaded(saved, tmp_path: Path) -> None:
    folder, _ = saved
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # would create the marker file if unpickled
            return (marker.touch, ())

    (folder / WEIGHTS_FILE).write_bytes(pickle.dumps(Evil()))
    config = json.loads((folder / CONFIG_FILE).read_text())
    import hashlib

    config["weights_sha256"] = hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError, match=r"model.safetensors: not a readable safetensors file"
    ):
        load_checkpoint(folder)
    assert not marker.exists()


def _rewrite_config(folder: Path, **changes) -> None:
    config = json.loads((folder / CONFIG_FILE).read_text())
    config.update(changes)
    (folder / CONFIG_FILE).write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / CONFIG_FILE).unlink(), r"config.json: missing"),
        (lambda f: (f / WEIGHTS_FILE).unlink(), r"model.safetensors: missing"),
        (lambda f: (f / CONFIG_FILE).write_text("{not json"), r"config.json: not valid JSON"),
        (
            lambda f: (f / WEIGHTS_FILE).write_bytes((f / WEIGHTS_FILE).read_bytes()[:100]),
            r"model.safetensors: contents do not match the checksum",
        ),
        (
            lambda f: _rewrite_config(f, architecture="gan"),
            r"config.json: unknown model architecture 'gan'",
        ),
        (
            lambda f: _rewrite_config(
                f, args={"image_shape": [1, 16, 16], "latent_dim": 4, "width": 8}
            ),
            r"tensor '.*' has shape .* the architecture needs",
        ),
        (lambda f: _rewrite_config(f, format_version=99), r"format version 99 is not supported"),
    ],
)
def test_damaged_checkpoints_give_one_line_errors_naming_the_file(saved, damage, message) -> None:
    folder, _ = saved
    damage(folder)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(folder)
    assert "\n" not in str(info.value)
    assert str(folder) in str(info.value)


def test_truncated_weights_with_a_matching_checksum_are_refused(saved) -> None:
    folder, _ = saved
    import hashlib

    data = (folder / WEIGHTS_FILE).read_bytes()[:200]
    (folder / WEIGHTS_FILE).write_bytes(data)
    _rewrite_config(folder, weights_sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(folder)


def test_a_failed_save_leaves_nothing_half_written(saved, monkeypatch) -> None:
    folder, _ = saved
    before = (folder / WEIGHTS_FILE).read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", full_disk)
    other = build_model("ae", {"image_shape": [1, 16, 16], "latent_dim": 2, "width": 8})
    with pytest.raises(OSError):
        save_checkpoint(other, folder, dataset=DATASET)
    assert (folder / WEIGHTS_FILE).read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in folder.parent.iterdir()] == ["m"]
    shutil.rmtree(folder)
    with pytest.raises(OSError):
        save_checkpoint(other, folder, dataset=DATASET)
    assert list(folder.parent.iterdir()) == []

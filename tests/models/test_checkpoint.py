"""Checkpoints: safetensors + JSON, rebuild themselves, refuse anything damaged in one line."""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from models.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from models.errors import CheckpointError
from models.registry import build_model, load_checkpoint, save_checkpoint

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


# -- hostile checkpoints: refused in one line, nothing executed ----------------------------


def _refused(folder: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(folder)
    message = str(caught.value)
    assert "\n" not in message and str(folder) in message
    return message


def _seal(folder: Path) -> None:
    """Make config.json's checksum match the weights file as it is now, as someone who
    rewrites both would: the loader must then refuse the file for what it is."""
    import hashlib

    digest = hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()
    _rewrite_config(folder, weights_sha256=digest)


class _Planted:
    """Unpickling this creates ``marker``: it stands for any code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        return (self.marker.touch, ())


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_real_pickle_renamed_to_safetensors_is_refused_and_never_run(
    saved, tmp_path: Path, writer: str
) -> None:
    folder, _ = saved
    marker = tmp_path / "code-ran"
    pickled = tmp_path / "model.pt"
    if writer == "pickle":
        pickled.write_bytes(pickle.dumps({"encoder.weight": _Planted(marker)}))
    else:  # the zip format of torch.save, what a .pt or .ckpt from elsewhere would be
        torch.save({"encoder.weight": _Planted(marker)}, pickled)
    # The file really is hostile: loading it the pickle way runs the planted code.
    if writer == "pickle":
        pickle.loads(pickled.read_bytes())
    else:
        torch.load(pickled, weights_only=False)
    assert marker.exists()
    marker.unlink()
    pickled.replace(folder / WEIGHTS_FILE)
    _seal(folder)
    message = _refused(folder)
    assert message.startswith(f"{folder / WEIGHTS_FILE}: not a readable safetensors file (")
    kind = "a Python pickle" if writer == "pickle" else "a zip archive, the format of torch.save"
    assert message.endswith(
        f"; it is {kind}, which is never loaded here because unpickling can run any code"
    )
    assert not marker.exists()


def _lie(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the safetensors header (8-byte length, JSON) with ``edit`` applied to it,
    keeping the tensor bytes as they are."""
    data = (folder / WEIGHTS_FILE).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (folder / WEIGHTS_FILE).write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    _seal(folder)


WEIGHT = "decoder.features.0.weight"  # (16, 8, 4, 4) float32 in the fixture's VAE


def _tensor(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda header: header[WEIGHT].update(changes)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _tensor(shape=[32, 8, 4, 4]),  # twice the elements its bytes hold
            "not a readable safetensors file (Error while deserializing header: invalid shape,",
        ),
        (
            _tensor(dtype="F64"),  # wider numbers than its bytes hold
            "not a readable safetensors file (Error while deserializing header: invalid shape,",
        ),
        (
            lambda header: header[WEIGHT]["data_offsets"].__setitem__(1, 10**9),
            "not a readable safetensors file (Error while deserializing header:",
        ),
        (
            _tensor(shape=[16, 128]),  # a consistent file, but not this architecture's shape
            f"tensor '{WEIGHT}' has shape (16, 128), the architecture needs (16, 8, 4, 4)",
        ),
        (
            lambda header: header.update({"decoder.extra": header.pop(WEIGHT)}),
            f"tensors do not fit architecture 'vae' (missing ['{WEIGHT}'], "
            "unexpected ['decoder.extra'])",
        ),
    ],
    ids=["shape beyond data", "dtype beyond data", "offsets past the end", "wrong shape", "names"],
)
def test_a_header_that_lies_about_its_tensors_is_refused(
    saved, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    folder, _ = saved
    _lie(folder, edit)
    assert f"{folder / WEIGHTS_FILE}: {expected}" in _refused(folder)


def test_a_header_claiming_a_huge_length_is_refused(saved) -> None:
    folder, _ = saved
    data = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(struct.pack("<Q", 10**12) + data[8:])
    _seal(folder)
    message = _refused(folder)
    assert (
        "not a readable safetensors file (Error while deserializing header: header too" in message
    )


@pytest.mark.parametrize(
    "name", ["gan", "torch.nn.Linear", "os.system", "builtins.eval", "__import__('os')", ""]
)
def test_a_config_naming_an_unknown_class_lists_the_known_ones(saved, name: str) -> None:
    folder, _ = saved
    _rewrite_config(folder, architecture=name)
    modules = set(sys.modules)
    message = _refused(folder)
    assert message == (
        f"{folder / CONFIG_FILE}: unknown model architecture {name!r}: "
        "choose one of ae, dae, jepa, siamese, simclr, triplet, vae"
    )
    assert set(sys.modules) == modules  # nothing was imported on the config's say-so

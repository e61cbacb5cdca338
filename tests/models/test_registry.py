"""The registry of model kinds: a kind defined here, in a test, is found and loaded from a
workspace folder without editing any other module, and its capability flags, not its name,
decide what the explorer does with it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from models.base import LatentModel, ModelConfig
from models.checkpoint import CONFIG_FILE, CheckpointInfo, write_config
from models.errors import CheckpointError, ConfigError
from models.registry import (
    KINDS,
    architecture,
    kind,
    load_checkpoint,
    register,
    save_checkpoint,
    unregister,
)
from models.training import encode_all

SHAPE = (1, 8, 8)
DATASET = {"spec": "digits", "image_size": 8}


class LinearEncoder(LatentModel):
    """A tiny kind with weights and no decoder: loads through ``LatentModel.load``."""

    name = "test-linear-encoder"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.linear = nn.Linear(int(np.prod(config.image_shape)), config.latent_dim)

    @property
    def can_decode(self) -> bool:
        return False

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))  # (B, C*H*W) -> (B, D)


class StoredVectors(LatentModel):
    """A tiny kind whose folder holds its vectors as JSON: loads through its own ``load``."""

    name = "test-stored-vectors"
    stored_latents = True

    def __init__(self, config: ModelConfig, vectors: list[list[float]]) -> None:
        super().__init__(config)
        self.vectors = vectors

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        vectors = json.loads((folder / "vectors.json").read_text())
        return cls(ModelConfig.from_checkpoint(folder, info), vectors)


class RunsCode(LinearEncoder):
    """As ``LinearEncoder``, but declares that loading it runs code named in config.json."""

    name = "test-runs-code"
    runs_code = True


@pytest.fixture
def test_kinds() -> Iterator[None]:
    for cls in (LinearEncoder, StoredVectors, RunsCode):
        register(cls)
    try:
        yield
    finally:
        for cls in (LinearEncoder, StoredVectors, RunsCode):
            unregister(cls.name)


def _saved_linear(folder: Path, cls: type[LinearEncoder] = LinearEncoder) -> LinearEncoder:
    torch.manual_seed(0)
    model = cls(ModelConfig(image_shape=SHAPE, latent_dim=3))
    save_checkpoint(model, folder, dataset=DATASET)
    return model


def test_a_kind_registered_in_a_test_loads_from_its_folder(tmp_path: Path, test_kinds) -> None:
    original = _saved_linear(tmp_path / "m")
    assert json.loads((tmp_path / "m" / CONFIG_FILE).read_text())["architecture"] == (
        "test-linear-encoder"
    )
    model, info = load_checkpoint(tmp_path / "m")
    assert type(model) is LinearEncoder and kind(info.architecture) is LinearEncoder
    x = torch.rand(5, *SHAPE, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.encode(x), original.encode(x))
    assert not model.training  # load_checkpoint leaves every kind in eval mode


def test_a_kind_without_a_decoder_says_so_and_nothing_decodes_it(
    tmp_path: Path, test_kinds
) -> None:
    _saved_linear(tmp_path / "m")
    model, _ = load_checkpoint(tmp_path / "m")
    assert model.can_encode and not model.can_decode
    images = np.random.default_rng(0).integers(0, 256, (7, *SHAPE), dtype=np.uint8)
    latents, errors = encode_all(model, images, "cpu")  # decode would raise NotImplementedError
    assert latents.shape == (7, 3) and errors is None


def test_a_kind_with_its_own_loader_and_stored_latents(tmp_path: Path, test_kinds) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "vectors.json").write_text(json.dumps([[0.0, 1.0], [2.0, 3.0]]))
    info = CheckpointInfo(
        architecture=StoredVectors.name,
        args={"image_shape": list(SHAPE), "latent_dim": 2},
        dataset=DATASET,
    )
    write_config(info, folder)
    model, loaded = load_checkpoint(folder)
    assert isinstance(model, StoredVectors) and model.vectors == [[0.0, 1.0], [2.0, 3.0]]
    assert loaded.architecture == "test-stored-vectors"
    # stored_latents alone makes it neither encode nor decode: the base class derives both.
    assert model.stored_latents and not model.can_encode and not model.can_decode


def test_a_kind_that_runs_code_needs_trust(tmp_path: Path, test_kinds) -> None:
    _saved_linear(tmp_path / "c", RunsCode)
    with pytest.raises(CheckpointError, match="this model runs Python code .* --trust-code"):
        load_checkpoint(tmp_path / "c")
    model, _ = load_checkpoint(tmp_path / "c", trust_code=True)
    assert isinstance(model, RunsCode)


def test_an_unregistered_kind_is_unknown_again(tmp_path: Path) -> None:
    register(LinearEncoder)
    try:
        _saved_linear(tmp_path / "m")
    finally:
        unregister(LinearEncoder.name)
    assert LinearEncoder.name not in KINDS
    with pytest.raises(
        CheckpointError,
        match=r"config.json: unknown model architecture 'test-linear-encoder': choose one of ae, "
        "dae, jepa, siamese, simclr, triplet, vae$",
    ):
        load_checkpoint(tmp_path / "m")


def test_one_name_one_kind(test_kinds) -> None:
    class Impostor(LinearEncoder):
        name = "test-linear-encoder"

    register(LinearEncoder)  # the same class again is harmless
    with pytest.raises(ConfigError, match="'test-linear-encoder' is already registered by"):
        register(Impostor)
    assert KINDS["test-linear-encoder"] is LinearEncoder


def test_built_in_kinds_and_their_flags() -> None:
    flags = {
        name: (cls.trainable, cls.runs_code, cls.stored_latents, cls.needs_labels)
        for name, cls in KINDS.items()
        if not name.startswith("test-")
    }
    assert flags == {
        "ae": (True, False, False, False),
        "vae": (True, False, False, False),
        "dae": (True, False, False, False),
        "simclr": (True, False, False, False),
        "siamese": (True, False, False, True),
        "triplet": (True, False, False, True),
        "jepa": (True, False, False, False),
        "pytorch-class": (False, True, False, False),
        "onnx": (False, False, False, False),
        "embeddings": (False, False, True, False),
        # a latent_explorer entry held in memory: never loaded from a folder, so no code runs
        "live": (False, False, False, False),
    }


def test_only_trainable_kinds_are_architectures() -> None:
    assert architecture("ae").name == "ae"
    assert kind("onnx").name == "onnx"
    with pytest.raises(
        ConfigError, match="model architecture 'onnx' is imported, not trained here: choose one of"
    ):
        architecture("onnx")


def test_importing_the_registry_leaves_onnx_unimported() -> None:
    code = (
        "import sys, models.registry; "
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "[]"

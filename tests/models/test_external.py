"""The pytorch-class kind: the user's own class behind LatentModel, and every way it can fail
named by file and line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from models.checkpoint import CheckpointInfo
from models.errors import CheckpointError, ConfigError, ModelCodeError
from models.external import ExternalConfig, ExternalModel, build_user_code
from tests.models.usercode import line_of, save_weights, write_package

SHAPE = (1, 16, 16)


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """(module name, path of the module's file) of a freshly written user package."""
    return write_package(tmp_path / "src", monkeypatch)


def _adapter(
    module: str,
    weights: Path,
    kwargs: dict[str, object] | None = None,
    pixel_range: tuple[float, float] = (0.0, 1.0),
) -> ExternalModel:
    kwargs = kwargs or {}
    code = build_user_code(f"{module}:TinyVAE", kwargs, weights, ("encode", "decode"))
    config = ExternalConfig(
        image_shape=SHAPE,
        latent_dim=3,
        class_path=f"{module}:TinyVAE",
        kwargs=kwargs,
        pixel_range=pixel_range,
    )
    return ExternalModel(config, code).eval()


def _images(n: int = 5) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(0))  # (B, C, H, W)


@torch.inference_mode()
def test_the_adapter_returns_exactly_what_the_users_class_computes(user, tmp_path) -> None:
    module, _ = user
    theirs = save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    path_before = list(sys.path)
    model = _adapter(module, tmp_path / "w.safetensors")
    assert sys.path == path_before  # the current folder is put first for the import only
    x = _images()
    z = model.encode(x)
    assert z.shape == (5, 3)
    assert torch.equal(z, theirs.encode(x)[0])  # (mu, logvar): mu
    y = model.decode(z)
    assert y.shape == (5, *SHAPE)
    assert torch.equal(y, theirs.decode(z))  # a sigmoid: already in [0, 1]
    assert model.can_encode and model.can_decode and model.latent_dim == 3


@torch.inference_mode()
def test_a_model_working_in_minus_one_to_one_is_converted_both_ways(user, tmp_path) -> None:
    module, _ = user
    theirs = save_weights(module, "TinyVAE", {"tanh": True}, tmp_path / "w.safetensors")
    model = _adapter(module, tmp_path / "w.safetensors", {"tanh": True}, (-1.0, 1.0))
    x = _images()
    z = model.encode(x)
    assert torch.allclose(z, theirs.encode(x * 2 - 1)[0])
    y = model.decode(z)
    raw = theirs.decode(z)
    assert raw.min() < 0  # the class really does answer in [-1, 1] ...
    assert torch.allclose(y, (raw + 1) / 2) and y.min() >= 0  # ... and we see [0, 1]


def test_a_class_that_raises_in_init_is_named_with_its_line(user, tmp_path) -> None:
    module, path = user
    save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    with pytest.raises(ModelCodeError) as err:
        _adapter(module, tmp_path / "w.safetensors", {"fail_in": "init"})
    assert str(err.value) == (
        f"TinyVAE(**config) failed at {path}:{line_of(path, 'MARK-init')}: "
        "ValueError: planted failure in __init__"
    )


@pytest.mark.parametrize("step", ["encode", "decode"])
def test_a_class_that_raises_in_a_method_names_the_step_and_line(user, tmp_path, step) -> None:
    module, path = user
    save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    model = _adapter(module, tmp_path / "w.safetensors", {"fail_in": step})
    with pytest.raises(ModelCodeError) as err:
        model.encode(_images()) if step == "encode" else model.decode(torch.zeros(2, 3))
    assert str(err.value) == (
        f"TinyVAE.{step} failed at {path}:{line_of(path, f'MARK-{step}')}: "
        f"RuntimeError: planted failure in {step}"
    )


def test_arguments_the_class_does_not_take_point_at_the_class(user, tmp_path) -> None:
    module, path = user
    save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    with pytest.raises(ModelCodeError, match=r"TinyVAE\(\*\*config\) failed at ") as err:
        _adapter(module, tmp_path / "w.safetensors", {"depth": 3})
    assert f"{path}:{line_of(path, 'class TinyVAE')}: TypeError:" in str(err.value)
    assert "'depth'" in str(err.value)


def test_latents_of_the_wrong_rank_are_refused_with_the_shape(user, tmp_path) -> None:
    module, path = user
    save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    model = _adapter(module, tmp_path / "w.safetensors", {"rank3": True})
    with pytest.raises(ModelCodeError) as err:
        model.encode(_images(4))
    assert str(err.value).startswith(
        f"TinyVAE.encode ({path}:{line_of(path, 'def encode')}) returned shape (4, 3, 1) "
        "for 4 images; latents must be 2-D"
    )


def test_weights_that_are_a_pickle_are_refused_not_loaded(user, tmp_path) -> None:
    module, _ = user
    theirs = save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    torch.save(theirs.state_dict(), tmp_path / "w.pt")
    with pytest.raises(CheckpointError) as err:
        _adapter(module, tmp_path / "w.pt")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'w.pt'}: not a readable safetensors file")
    assert "torch.save, which is never loaded here" in message


def test_missing_and_misshapen_tensors_are_named(user, tmp_path) -> None:
    from safetensors.torch import save_file

    module, _ = user
    theirs = save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    state = {k: v for k, v in theirs.state_dict().items() if k != "dec.bias"}
    save_file(state, str(tmp_path / "partial.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \['dec.bias'\], unexpected \[\]"):
        _adapter(module, tmp_path / "partial.safetensors")
    save_weights(module, "TinyVAE", {"latent_dim": 5}, tmp_path / "wide.safetensors")
    with pytest.raises(CheckpointError) as err:
        _adapter(module, tmp_path / "wide.safetensors")
    assert str(err.value) == (
        f"{tmp_path / 'wide.safetensors'}: tensor 'dec.weight' has shape (256, 5), "
        f"class {module}:TinyVAE needs (256, 3)"
    )


@pytest.mark.parametrize(
    ("class_path", "message"),
    [
        ("no_such_package_xyz.nets:TinyVAE", "cannot import no_such_package_xyz.nets: No module"),
        ("{module}:Missing", "has no 'Missing': its nn.Module classes are TinyEncoder, TinyVAE"),
        ("{module}.TinyVAE", "is not MODULE:CLASS"),
        # A user package called like one of the explorer's own would be silently hidden.
        ("models.vae:MyVAE", "'models' is also the name of the explorer's own package"),
    ],
)
def test_a_class_that_cannot_be_found_says_why(user, tmp_path, class_path, message) -> None:
    module, _ = user
    save_weights(module, "TinyVAE", {}, tmp_path / "w.safetensors")
    with pytest.raises((ModelCodeError, ConfigError), match=message.replace("(", r"\(")):
        build_user_code(
            class_path.format(module=module), {}, tmp_path / "w.safetensors", ("encode", None)
        )


def test_a_missing_method_lists_the_methods_there_are(user, tmp_path) -> None:
    module, _ = user
    save_weights(module, "TinyEncoder", {}, tmp_path / "w.safetensors")
    with pytest.raises(ModelCodeError, match=r"has no method 'encode': its own methods are embed"):
        build_user_code(f"{module}:TinyEncoder", {}, tmp_path / "w.safetensors", ("encode", None))


def test_a_syntax_error_in_the_users_module_names_file_and_line(user) -> None:
    module, path = user
    broken = path.with_name("broken.py")
    broken.write_text("import torch\n\ndef oops(:\n    pass\n")
    with pytest.raises(ModelCodeError, match=rf"SyntaxError at {broken}:3: "):
        build_user_code(f"{module.rsplit('.', 1)[0]}.broken:X", {}, path, ("encode", None))


def test_serving_a_model_whose_code_is_gone_says_how_to_fix_it(user, tmp_path, monkeypatch):
    module, path = user
    (tmp_path / "m").mkdir()
    save_weights(module, "TinyVAE", {}, tmp_path / "m" / "model.safetensors")
    from models.checkpoint import sha256_file

    config = ExternalConfig(
        image_shape=SHAPE, latent_dim=3, class_path=f"{module}:TinyVAE", decode_method=None
    )
    info = CheckpointInfo(
        architecture="pytorch-class",
        args=config.to_dict(),
        dataset={},
        weights_sha256=sha256_file(tmp_path / "m" / "model.safetensors"),
    )
    model = ExternalModel.load(tmp_path / "m", info, "cpu")  # importable: loads, encoder only
    assert not model.can_decode and model.latent_dim == 3
    root = str(path.parent.parent)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != root])
    for name in (module, module.split(".")[0]):
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.chdir(tmp_path)  # the current folder is searched too: not this one
    with pytest.raises(ModelCodeError) as err:
        ExternalModel.load(tmp_path / "m", info, "cpu")
    assert str(err.value) == (
        f"cannot import {module}: No module named '{module.split('.')[0]}'; install the package "
        "or add its folder to PYTHONPATH (the current folder is searched first)"
    )
    (tmp_path / "m" / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(CheckpointError, match="do not match the checksum"):
        ExternalModel.load(tmp_path / "m", info, "cpu")

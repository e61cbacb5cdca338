"""The onnx kind: files run by onnxruntime behind LatentModel, checked shapes, loading, and
the export's faithfulness check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import CheckpointInfo, sha256_file
from models.errors import CheckpointError, ConfigError, ModelCodeError
from models.onnx_model import (
    DECODER_FILE,
    ENCODER_FILE,
    OnnxConfig,
    OnnxModel,
    files_digest,
    open_runners,
    providers_for,
)
from tests.models.onnx_graphs import linear_decoder, linear_encoder, sigmoid

SHAPE = (1, 16, 16)


def _images(n: int) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(0))  # (B, C, H, W)


def _model(enc: Path, dec: Path | None, pixel_range=(0.0, 1.0)) -> OnnxModel:
    e, d = open_runners(enc, dec, "cpu")
    config = OnnxConfig(
        image_shape=SHAPE,
        latent_dim=3,
        decoder=DECODER_FILE if dec else None,
        pixel_range=pixel_range,
    )
    return OnnxModel(config, e, d)


@torch.inference_mode()
def test_encode_and_decode_compute_what_the_files_say(tmp_path: Path) -> None:
    w = linear_encoder(tmp_path / "e.onnx", SHAPE, 3)
    v = linear_decoder(tmp_path / "d.onnx", 3, SHAPE)
    model = _model(tmp_path / "e.onnx", tmp_path / "d.onnx")
    x = _images(5)
    z = model.encode(x)
    assert z.shape == (5, 3) and z.dtype == torch.float32
    np.testing.assert_allclose(z.numpy(), x.flatten(1).numpy() @ w, rtol=1e-5, atol=1e-6)
    y = model.decode(z)
    assert y.shape == (5, *SHAPE)
    expected = sigmoid(z.numpy() @ v).reshape(5, *SHAPE)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)


@torch.inference_mode()
def test_a_file_with_a_fixed_batch_of_one_serves_any_batch(tmp_path: Path) -> None:
    w = linear_encoder(tmp_path / "e.onnx", SHAPE, 3, batch=1)
    model = _model(tmp_path / "e.onnx", None)
    x = _images(5)
    z = model.encode(x)  # five runs of one item each
    np.testing.assert_allclose(z.numpy(), x.flatten(1).numpy() @ w, rtol=1e-5, atol=1e-6)
    assert not model.can_decode


@torch.inference_mode()
def test_the_pixel_range_is_applied_on_the_way_in_and_out(tmp_path: Path) -> None:
    w = linear_encoder(tmp_path / "e.onnx", SHAPE, 3)
    v = linear_decoder(tmp_path / "d.onnx", 3, SHAPE)
    model = _model(tmp_path / "e.onnx", tmp_path / "d.onnx", (-1.0, 1.0))
    x = _images(3)
    z = model.encode(x)
    np.testing.assert_allclose(z.numpy(), (2 * x - 1).flatten(1).numpy() @ w, atol=1e-5)
    y = model.decode(z)  # the file's sigmoid output in [0, 1] read as [-1, 1]: (y + 1) / 2
    expected = (sigmoid(z.numpy() @ v).reshape(3, *SHAPE) + 1) / 2
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-6)


def test_wrong_output_shapes_are_named_with_the_file(tmp_path: Path) -> None:
    linear_encoder(tmp_path / "flat3.onnx", SHAPE, 3, rank3=True)
    linear_decoder(tmp_path / "d28.onnx", 3, (1, 28, 28))
    model = _model(tmp_path / "flat3.onnx", tmp_path / "d28.onnx")
    with pytest.raises(ModelCodeError) as err:
        model.encode(_images(4))
    assert str(err.value).startswith(
        f"{tmp_path / 'flat3.onnx'}: the encoder returned shape (4, 3, 1) for 4 images; "
        "latents must be 2-D"
    )
    with pytest.raises(ModelCodeError) as err:
        model.decode(torch.zeros(2, 3))
    assert str(err.value) == (
        f"{tmp_path / 'd28.onnx'}: the decoder returned shape (2, 1, 28, 28) for 2 latents; "
        "the dataset's images are 1x16x16, so it must return (2, 1, 16, 16)"
    )


def test_a_file_that_is_not_onnx_or_takes_the_wrong_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07not a model")
    with pytest.raises(CheckpointError, match=r"junk.onnx: not a readable ONNX model \("):
        open_runners(tmp_path / "junk.onnx", None, "cpu")
    linear_encoder(tmp_path / "e.onnx", SHAPE, 3)
    with pytest.raises(ModelCodeError) as err:
        open_runners(tmp_path / "e.onnx", tmp_path / "e.onnx", "cpu")  # rank 4 as a decoder
    assert str(err.value) == (
        f"{tmp_path / 'e.onnx'}: input 'images' has shape ['batch', 1, 16, 16]; "
        "a decoder takes (batch, D) latents"
    )
    enc, _ = open_runners(tmp_path / "e.onnx", None, "cpu")
    with pytest.raises(ModelCodeError, match=r"has shape \['batch', 1, 16, 16\], but the images"):
        enc.check_input((1, 32, 32), "the images")
    with pytest.raises(ConfigError, match="missing.onnx: no such file"):
        open_runners(tmp_path / "missing.onnx", None, "cpu")


def test_cpu_is_always_a_provider_and_cuda_only_when_onnxruntime_has_it() -> None:
    import onnxruntime as ort

    assert providers_for("cpu") == ["CPUExecutionProvider"]
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    assert providers_for("cuda") == ["CUDAExecutionProvider"] * cuda + ["CPUExecutionProvider"]


def test_load_model_checks_each_files_checksum(tmp_path: Path) -> None:
    linear_encoder(tmp_path / ENCODER_FILE, SHAPE, 3)
    linear_decoder(tmp_path / DECODER_FILE, 3, SHAPE)
    files = {n: sha256_file(tmp_path / n) for n in (ENCODER_FILE, DECODER_FILE)}
    config = OnnxConfig(image_shape=SHAPE, latent_dim=3, files_sha256=files)
    info = CheckpointInfo("onnx", config.to_dict(), {}, weights_sha256=files_digest(files))
    assert json.loads(json.dumps(info.args))["decoder"] == DECODER_FILE
    model = OnnxModel.load(tmp_path, info, "cpu")
    assert model.can_decode and model.latent_dim == 3
    (tmp_path / DECODER_FILE).write_bytes((tmp_path / DECODER_FILE).read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match=rf"{DECODER_FILE}: contents do not match"):
        OnnxModel.load(tmp_path, info, "cpu")
    info.args["encoder"] = "../elsewhere.onnx"
    with pytest.raises(CheckpointError, match="config.json: encoder/decoder must be"):
        OnnxModel.load(tmp_path, info, "cpu")


def test_an_unfaithful_export_is_refused_with_the_difference() -> None:
    from models.onnx_export import _compare

    reference = torch.tensor([[1.0, -2.0]])
    assert _compare(np.array([[1.0, -2.0 + 1e-5]]), reference, Path("x/encoder.onnx"), 1e-4) == (
        pytest.approx(1e-5)
    )
    with pytest.raises(ModelCodeError) as err:
        _compare(np.array([[1.0, -1.9]]), reference, Path("x/encoder.onnx"), 1e-4)
    assert str(err.value) == (
        "encoder.onnx: onnxruntime's output differs from the torch model's by up to 0.1 on the "
        "sample batch (allowed 0.0003): the export is not faithful"
    )


def test_export_refuses_a_folder_it_would_wipe(tmp_path: Path) -> None:
    from models.onnx_export import export_onnx

    linear_encoder(tmp_path / "e.onnx", SHAPE, 3)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    model = _model(tmp_path / "e.onnx", None)
    with pytest.raises(ConfigError, match="this model is ONNX already"):
        export_onnx(model, _images(4), tmp_path / "out")
    from models.registry import build_model

    vae = build_model("vae", {"image_shape": list(SHAPE), "latent_dim": 3, "width": 4})
    with pytest.raises(ConfigError, match=r"out: folder is not empty \(notes.txt\.\.\.\)"):
        export_onnx(vae, _images(4), tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_a_file_with_external_weights_is_refused_naming_them(tmp_path: Path) -> None:
    """Weights kept beside the .onnx (save_as_external_data, needed past 2 GB) would not be
    copied into the workspace: refused at once, naming the data file and how to re-save."""
    import onnx

    linear_encoder(tmp_path / "e.onnx", SHAPE, 3)
    model = onnx.load(str(tmp_path / "e.onnx"))
    onnx.save_model(
        model,
        str(tmp_path / "split.onnx"),
        save_as_external_data=True,
        location="split.onnx.data",
        size_threshold=0,
    )
    assert (tmp_path / "split.onnx.data").is_file()
    with pytest.raises(ConfigError) as err:
        open_runners(tmp_path / "split.onnx", None, "cpu")
    assert str(err.value).startswith(
        f"{tmp_path / 'split.onnx'}: its weights live in other files (split.onnx.data)"
    )
    assert "save_as_external_data=False" in str(err.value)
    open_runners(tmp_path / "e.onnx", None, "cpu")  # the self-contained original is fine

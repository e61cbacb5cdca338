"""``import-model`` and ``export-onnx`` end to end, in-process: the user's class and ONNX files
become workspace models the server loads; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import main
from app.index.fitting import IndexParams
from app.services.loaded import ModelStore
from models.data import load_dataset
from tests.models.onnx_graphs import linear_decoder, linear_encoder
from tests.models.usercode import line_of, save_weights, write_package

DATA = ["--dataset", "digits", "--size", "200", "--image-size", "16", "--device", "cpu"]
NAME = "digits-tinyvae-3"


@dataclass
class Imported:
    root: Path
    workspace: Path
    module: str  # the user's module, e.g. usermodels_0_src.nets
    source: Path  # its file
    theirs: torch.nn.Module  # the user's own instance, with the imported weights


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """A TinyVAE imported through the CLI once for the module (weights, --config)."""
    root = tmp_path_factory.mktemp("import")
    with pytest.MonkeyPatch.context() as mp:
        # UMAP's first fit in a process compiles numba for ~30 s on 2 cores; these tests are
        # about importing, not projections (tests/index covers UMAP), so indexes are PCA-only,
        # for the import and for the store alike (the cache key matches, nothing is rebuilt).
        pca_only = functools.partial(IndexParams, projections=("pca",))
        mp.setattr("app.services.model_import.IndexParams", pca_only)
        mp.setattr("app.services.loaded.IndexParams", pca_only)
        module, source = write_package(root / "src", mp)
        theirs = save_weights(module, "TinyVAE", {"latent_dim": 3}, root / "w.safetensors")
        (root / "args.json").write_text(json.dumps({"latent_dim": 3}))
        workspace = root / "ws"
        code = main(
            [
                "import-model",
                "--class",
                f"{module}:TinyVAE",
                "--weights",
                str(root / "w.safetensors"),
                "--config",
                str(root / "args.json"),
                "--workspace",
                str(workspace),
                *DATA,
            ]
        )
        assert code == 0
        yield Imported(root, workspace, module, source, theirs)


def _digits() -> torch.Tensor:
    data = load_dataset("digits", image_size=16, size=200, seed=0)
    return torch.from_numpy(data.images[:20]).float() / 255.0  # (20, 1, 16, 16)


def _listing(folder: Path) -> list[tuple[str, str]]:
    """Every path under ``folder`` (hidden temporary folders included) with its content hash,
    so a model that a failed --force replacement touched would show."""
    return sorted(
        (
            str(p.relative_to(folder)),
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
        )
        for p in folder.rglob("*")
    )


def test_an_imported_class_is_served_and_encodes_as_the_users_class(imported) -> None:
    folder = imported.workspace / NAME
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "index", "model.safetensors"]
    assert (folder / "model.safetensors").read_bytes() == (
        imported.root / "w.safetensors"
    ).read_bytes()
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == "pytorch-class"
    assert config["args"] == {
        "image_shape": [1, 16, 16],
        "latent_dim": 3,
        "class_path": f"{imported.module}:TinyVAE",
        "kwargs": {"latent_dim": 3},
        "encode_method": "encode",
        "decode_method": "decode",
        "pixel_range": [0.0, 1.0],
    }
    assert config["dataset"]["spec"] == "digits" and config["dataset"]["n_items"] == 200
    # A workspace alone never runs code: without trust_code the model is reported, not loaded.
    untrusted = ModelStore.load(imported.workspace, torch.device("cpu"))
    assert NAME not in untrusted.models
    assert "runs Python code (" + config["args"]["class_path"] + ")" in untrusted.failed[NAME]
    assert "--trust-code" in untrusted.failed[NAME]
    store = ModelStore.load(imported.workspace, torch.device("cpu"), trust_code=True)
    assert store.failed == {}
    served = store.get(NAME)
    x = _digits()
    with torch.inference_mode():
        mu = imported.theirs.encode(x)[0]
        np.testing.assert_allclose(served.encode(x.numpy()), mu.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            served.decode(mu.numpy()), imported.theirs.decode(mu).numpy(), rtol=1e-5, atol=1e-6
        )
    assert served.index.latents.shape == (200, 3) and served.index.errors is not None


def test_an_encoder_only_class_is_served_without_decoding(imported, tmp_path) -> None:
    theirs = save_weights(imported.module, "TinyEncoder", {}, tmp_path / "enc.safetensors")
    ws = tmp_path / "ws"
    argv = ["import-model", "--class", f"{imported.module}:TinyEncoder", "--encode-method", "embed"]
    argv += ["--weights", str(tmp_path / "enc.safetensors"), "--workspace", str(ws), *DATA]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "app.services.model_import.IndexParams",
            functools.partial(IndexParams, projections=("pca",)),
        )
        # Without --no-decoder the missing decode method is named, with what there is.
        assert main(argv) == 2
        assert main([*argv, "--no-decoder", "--name", "enc"]) == 0
        mp.setattr(
            "app.services.loaded.IndexParams", functools.partial(IndexParams, projections=("pca",))
        )
        served = ModelStore.load(ws, torch.device("cpu"), trust_code=True).get("enc")
    assert not served.can_decode and served.index.errors is None
    x = _digits()
    with torch.inference_mode():
        np.testing.assert_allclose(served.encode(x.numpy()), theirs.embed(x).numpy(), atol=1e-6)


def test_an_onnx_export_imports_back_and_agrees_with_the_class(imported) -> None:
    out = imported.root / "onnx"
    argv = ["export-onnx", "--model", NAME, "--out", str(out), "--workspace"]
    assert main([*argv, str(imported.workspace)]) == 2  # the class is code: not without consent
    assert not out.exists()
    assert main([*argv, str(imported.workspace), "--trust-code"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "export.json"]
    report = json.loads((out / "export.json").read_text())
    assert max(report["max_abs_difference"].values()) < 1e-5
    with pytest.MonkeyPatch.context() as mp:
        pca_only = functools.partial(IndexParams, projections=("pca",))
        mp.setattr("app.services.model_import.IndexParams", pca_only)
        mp.setattr("app.services.loaded.IndexParams", pca_only)
        files = ["--encoder-onnx", str(out / "encoder.onnx")]
        files += ["--decoder-onnx", str(out / "decoder.onnx")]
        argv = ["import-model", *files, "--workspace", str(imported.workspace), *DATA]
        assert main(argv) == 0
        store = ModelStore.load(imported.workspace, torch.device("cpu"), trust_code=True)
    config = json.loads((imported.workspace / "digits-onnx-3" / "config.json").read_text())
    assert config["architecture"] == "onnx" and config["args"]["decoder"] == "decoder.onnx"
    torch_model, onnx_model = store.get(NAME), store.get("digits-onnx-3")
    x = _digits().numpy()
    z = torch_model.encode(x)
    np.testing.assert_allclose(onnx_model.encode(x), z, atol=1e-5)
    np.testing.assert_allclose(onnx_model.decode(z), torch_model.decode(z), atol=1e-5)
    np.testing.assert_allclose(onnx_model.index.latents, torch_model.index.latents, atol=1e-5)


def _bad_onnx(root: Path, decoder_side: int, rank3: bool) -> list[str]:
    linear_encoder(root / "enc.onnx", (1, 16, 16), 3, rank3=rank3)
    linear_decoder(root / "dec.onnx", 3, (1, decoder_side, decoder_side))
    return ["--encoder-onnx", str(root / "enc.onnx"), "--decoder-onnx", str(root / "dec.onnx")]


def _class_args(imp: Imported, weights: Path, config: str | None) -> list[str]:
    argv = ["--class", f"{imp.module}:TinyVAE", "--weights", str(weights)]
    if config is not None:
        (imp.root / "bad-args.json").write_text(config)
        argv += ["--config", str(imp.root / "bad-args.json")]
    return argv


def _with_config(imp: Imported, config: str) -> list[str]:
    return _class_args(imp, imp.root / "w.safetensors", config)


def _pickled(imp: Imported) -> Path:
    torch.save(imp.theirs.state_dict(), imp.root / "pickled.safetensors")
    return imp.root / "pickled.safetensors"


def _partial(imp: Imported) -> Path:
    from safetensors.torch import save_file

    state = {k: v for k, v in imp.theirs.state_dict().items() if k != "dec.bias"}
    save_file(state, str(imp.root / "partial.safetensors"))
    return imp.root / "partial.safetensors"


BAD = {
    "NaN past the sample, while indexing in the temporary folder": (
        # --force: replacing the model already there, which must survive the failure intact.
        lambda i: [*_with_config(i, '{"latent_dim": 3, "nan_beyond": 16}'), "--force"],
        lambda i: (
            "the encoder returned NaN or infinite latents for item 0 (and maybe others) of 200"
        ),
    ),
    "class raises": (
        lambda i: _with_config(i, '{"latent_dim": 3, "fail_in": "init"}'),
        lambda i: (
            f"TinyVAE(**config) failed at {i.source}:{line_of(i.source, 'MARK-init')}: "
            "ValueError: planted failure in __init__"
        ),
    ),
    "encode raises": (
        lambda i: _with_config(i, '{"latent_dim": 3, "fail_in": "encode"}'),
        lambda i: (
            f"TinyVAE.encode failed at {i.source}:{line_of(i.source, 'MARK-encode')}: "
            "RuntimeError: planted failure in encode"
        ),
    ),
    "weights are a pickle": (
        lambda i: _class_args(i, _pickled(i), None),
        lambda i: f"{i.root / 'pickled.safetensors'}: not a readable safetensors file",
    ),
    "weights miss a tensor": (
        lambda i: _class_args(i, _partial(i), None),
        lambda i: (
            f"{i.root / 'partial.safetensors'}: tensors do not fit class "
            f"{i.module}:TinyVAE (missing ['dec.bias'], unexpected [])"
        ),
    ),
    "config is not JSON": (
        lambda i: _with_config(i, '{\n  "latent_dim": 3,\n}\n'),
        lambda i: f"{i.root / 'bad-args.json'}:3:1: not valid JSON (Expecting property name",
    ),
    "latents are 3-D": (
        lambda i: _with_config(i, '{"latent_dim": 3, "rank3": true}'),
        lambda i: (
            f"TinyVAE.encode ({i.source}:{line_of(i.source, 'def encode')}) returned "
            "shape (16, 3, 1) for 16 images; latents must be 2-D"
        ),
    ),
    "module is not importable": (
        lambda i: ["--class", "nowhere_to_be_found.vae:MyVAE", "--weights", str(i.root / "w.pt")],
        lambda i: (
            "cannot import nowhere_to_be_found.vae: No module named 'nowhere_to_be_found'; "
            "install the package or add its folder to PYTHONPATH"
        ),
    ),
    "onnx decoder of 28 px for 16 px data": (
        lambda i: _bad_onnx(i.root, 28, rank3=False),
        lambda i: (
            f"{i.root / 'dec.onnx'}: the decoder returned shape (16, 1, 28, 28) for 16 "
            "latents; the dataset's images are 1x16x16, so it must return (16, 1, 16, 16)"
        ),
    ),
    "onnx encoder output is 3-D": (
        lambda i: _bad_onnx(i.root, 16, rank3=True),
        lambda i: (
            f"{i.root / 'enc.onnx'}: the encoder returned shape (16, 3, 1) for 16 images; "
            "latents must be 2-D"
        ),
    ),
    "encode samples instead of returning the mean": (
        lambda i: _with_config(i, '{"latent_dim": 3, "noisy": true}'),
        lambda i: f"{i.module}:TinyVAE: encoding the same images twice gave latents up to ",
    ),
    "name taken": (
        lambda i: _class_args(i, i.root / "w.safetensors", None),  # the default name again
        lambda i: f"{i.workspace / NAME} already exists: choose another --name or pass --force",
    ),
    "both kinds at once": (
        lambda i: [*_class_args(i, i.root / "w.safetensors", None), "--encoder-onnx", "e.onnx"],
        lambda i: "give either --class (a PyTorch class) or --encoder-onnx, not both",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_imports_are_one_line_exit_2_and_write_nothing(imported, capsys, case) -> None:
    make_args, expected = BAD[case]
    argv = make_args(imported)
    if case == "module is not importable":
        (imported.root / "w.pt").write_bytes(b"")  # exists: the import is what fails
    before = _listing(imported.workspace)
    capsys.readouterr()
    code = main(["import-model", *argv, "--workspace", str(imported.workspace), *DATA])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected(imported)}"), err
    assert _listing(imported.workspace) == before  # no model folder, no temporary folder


def test_a_workspace_alone_never_runs_the_code_its_config_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pytorch-class config.json can name any module, even one shipped inside the workspace
    (the current folder is searched first). Loading it imports that module, so index, serve
    and export-onnx do so only with --trust-code / LATENT_EXPLORER_TRUST_CODE."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LATENT_EXPLORER_TRUST_CODE", raising=False)
    marker = tmp_path / "ran"
    entry = tmp_path / "ws" / "shipped"
    entry.mkdir(parents=True)
    (entry / "payload.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (entry / "model.safetensors").write_bytes(b"not even weights")
    config = {
        "format": "latent-explorer-checkpoint",
        "format_version": 1,
        "architecture": "pytorch-class",
        "args": {"class_path": "ws.shipped.payload:M", "image_shape": [1, 16, 16]},
        "image_shape": [1, 16, 16],
        "dataset": {"spec": "digits", "image_size": 16},
        "weights_sha256": hashlib.sha256(b"not even weights").hexdigest(),
    }
    (entry / "config.json").write_text(json.dumps(config))

    assert main(["index", "--workspace", "ws", "--device", "cpu"]) == 2
    error = capsys.readouterr().err
    assert "runs Python code (ws.shipped.payload:M)" in error and "--trust-code" in error
    store = ModelStore.load(Path("ws"), torch.device("cpu"))
    assert list(store.failed) == ["shipped"] and "--trust-code" in store.failed["shipped"]
    assert not marker.exists()
    # With consent the code is imported (and here fails on its bogus weights afterwards).
    monkeypatch.setenv("LATENT_EXPLORER_TRUST_CODE", "1")
    assert main(["index", "--workspace", "ws", "--device", "cpu"]) == 2
    assert marker.exists()

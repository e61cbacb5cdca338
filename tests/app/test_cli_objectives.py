"""`train --model dae|simclr|siamese|triplet|jepa` from the command line: each kind trains,
records its held-out items, is indexed and described; an argument a kind does not take is
refused by name, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.training import holdout_split

TINY = ["--epochs", "1", "--image-size", "16", "--width", "8", "--latent-dim", "4"]
TINY += ["--size", "300", "--no-progress", "--device", "cpu"]


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("dae", ["--noise", "mask:0.25"]),
        ("simclr", ["--temperature", "0.3"]),
        ("siamese", ["--margin", "0.8"]),
        ("triplet", []),
        ("jepa", []),
    ],
)
def test_each_objective_trains_records_its_holdout_and_is_indexed(
    tmp_path: Path, kind: str, extra: list[str]
) -> None:
    ws = tmp_path / "ws"
    assert main(["train", "--model", kind, "--out", str(ws), *TINY, *extra]) == 0
    folder = ws / f"digits-{kind}-4"
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == kind
    _, expected = holdout_split(300, 0.2, 0)
    assert config["training"]["holdout_ids"] == sorted(int(i) for i in expected)
    assert len(config["training"]["holdout_ids"]) == 60
    for flag, key in (
        ("--noise", "noise"),
        ("--temperature", "temperature"),
        ("--margin", "margin"),
    ):
        if flag in extra:
            assert str(config["args"][key]) == extra[extra.index(flag) + 1]
    manifest = json.loads((folder / "index" / "manifest.json").read_text())
    assert set(manifest["quality"]["trustworthiness"]) == {"pca", "umap", "tsne"}
    assert 0.0 <= manifest["quality"]["knn_accuracy"] <= 1.0
    # Encoder-only kinds have no reconstruction figure; dae decodes.
    assert ("reconstruction_mse" in manifest["quality"]) == (kind in ("dae",))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "simclr", "--noise", "gaussian:0.1"], "model 'simclr' takes no 'noise'"),
        (["--model", "vae", "--margin", "0.5"], "model 'vae' takes no 'margin'"),
        (["--model", "dae", "--noise", "blur:0.2"], "unknown noise kind 'blur'"),
        (["--model", "triplet", "--margin", "5"], "margin 5.0 is out of range"),
    ],
)
def test_an_argument_the_kind_does_not_take_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["train", "--out", str(tmp_path / "ws"), *TINY, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").iterdir())

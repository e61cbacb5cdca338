"""`latent-explorer demo --no-serve` at tiny sizes: every kind trained on digits into its own
folder, each able to decode (its own decoder, or one fitted to the encoder-only kinds), a line
per model on stderr; a second run keeps every model as it was (no file rewritten)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.services.demo import DEMO_KINDS
from models.checkpoint import CONFIG_FILE
from models.registry import load_checkpoint

TINY = ["--epochs", "1", "--decoder-epochs", "1", "--image-size", "16", "--width", "4",
        "--latent-dim", "4", "--size", "200", "--no-progress", "--no-serve",
        "--device", "cpu", "--threads", "2"]  # fmt: skip
ENCODER_ONLY = {"simclr", "siamese", "triplet", "jepa"}


def mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_demo_trains_every_kind_with_a_decoder_and_keeps_them_on_a_second_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier run stopped after training simclr, before its decoder was fitted: the demo
    # keeps its weights and fits the decoder.
    assert main(["train", "--model", "simclr", "--out", str(tmp_path), "--epochs", "1",
                 "--image-size", "16", "--width", "4", "--latent-dim", "4", "--size", "200",
                 "--no-progress", "--device", "cpu", "--threads", "2"]) == 0  # fmt: skip
    simclr_weights = tmp_path / "digits-simclr-4" / "model.safetensors"
    simclr_trained = simclr_weights.stat().st_mtime_ns
    capsys.readouterr()

    assert main(["demo", "--workspace", str(tmp_path), *TINY]) == 0
    first = capsys.readouterr().err
    for number, kind in enumerate(DEMO_KINDS, start=1):
        folder = tmp_path / f"digits-{kind}-4"
        assert (folder / CONFIG_FILE).is_file(), kind
        model, info = load_checkpoint(folder, "cpu")
        assert info.architecture == kind
        assert model.can_decode, kind
        decoder = "fitted" if kind in ENCODER_ONLY else "own"
        assert model.decoder_source == decoder, kind
        head = f"[{number}/7] digits-{kind}-4"
        if kind == "simclr":
            assert f"{head}: already in the workspace, kept" in first
            assert f"{head}: fitting a decoder, up to 1 epochs" in first
            assert f"{head}: kept, decoder fitted" in first
        else:
            assert f"{head}: training {kind}, up to 1 epochs" in first
            assert f"{head}: trained, decoder {decoder}" in first
    assert simclr_weights.stat().st_mtime_ns == simclr_trained
    assert "ready: 7 models" in first and "(6 trained, 1 kept)" in first
    before = mtimes(tmp_path)

    assert main(["demo", "--workspace", str(tmp_path), *TINY]) == 0
    second = capsys.readouterr().err
    assert mtimes(tmp_path) == before  # nothing retrained, refitted or re-indexed
    assert second.count("already in the workspace, kept") == 7
    assert second.count("decoder kept") == 4  # the fitted ones
    assert "training" not in second and "fitting" not in second
    assert "(0 trained, 7 kept)" in second

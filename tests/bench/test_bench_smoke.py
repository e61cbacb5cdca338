"""The benchmark runs end to end in quick mode and writes well-formed results.

Speed is never asserted here (test machines vary too much); what is asserted is the shape of
the results, that every timing is a positive finite number with ordered percentiles, and that
the neighbour baseline agrees with the index, so the ratio compares equal answers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.cli import main, parse_only
from bench.stats import BenchError, Figure, Stats

IN_PROCESS_KEYS = {
    "drag_frame",
    "drag_frame_sync",
    "drag_inverse",
    "drag_decode",
    "drag_png",
    "neighbors",
}


def check_stats(stats: dict[str, float]) -> None:
    assert stats["n"] > 0
    for key in ("p50", "p90", "p99", "mean", "min", "max"):
        assert math.isfinite(stats[key]) and stats[key] > 0, (key, stats)
    assert stats["min"] <= stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]


def test_quick_in_process_run_writes_results(
    workspace: Path, model_name: str, tmp_path: Path
) -> None:
    code = main(
        [
            "--quick",
            "--workspace", str(workspace),
            "--model", model_name,
            "--only", "drag,neighbors",
            "--neighbors-n", "2000",
            "--no-umap-baseline",
            "--threads", "2",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["run"]["groups"] == ["drag", "neighbors"]
    assert results["run"]["model"] == model_name
    machine = results["machine"]
    assert machine["device"] == "cpu" and machine["torch_threads"] == 2
    assert machine["cpu"] and machine["cores"] >= 1 and machine["torch"]

    figures = {f["key"]: f for f in results["figures"]}
    assert set(figures) == IN_PROCESS_KEYS
    for figure in figures.values():
        check_stats(figure["value"])
        assert figure["passed"] in (True, False, None)

    frame = figures["drag_frame"]
    assert frame["goal_p50"] == 1.0 and frame["goal_ratio"] == 300.0
    assert frame["baseline"] is None  # the umap-learn baseline was switched off
    details = frame["details"]
    assert details["model"] == model_name and details["path_points"] == 100
    assert 0.0 < details["inside_hull_fraction"] <= 1.0
    profile = details["decoder_profile"]
    assert len(profile["layers_p50_us"]) >= 3
    assert all(us > 0 for us in profile["layers_p50_us"].values())
    assert set(profile["loaded_decode_p50_us_by_threads"]) == {"1", "2"}

    neighbors = figures["neighbors"]
    check_stats(neighbors["baseline"])
    assert neighbors["ratio"] > 0 and neighbors["ratio_kind"] == "speedup"
    assert neighbors["details"]["n_items"] == 2000
    assert neighbors["details"]["same_neighbours_as_sklearn"] == 1.0

    table = (tmp_path / "results.md").read_text()
    assert "| figure | p50 | goal | baseline (p50) | ratio | pass |" in table
    for figure in figures.values():
        assert figure["label"] in table


def test_figure_ratio_and_verdict() -> None:
    value = Stats.of([0.5, 1.0, 2.0], "ms")  # p50 1.0
    baseline = Stats.of([400.0], "ms")
    fast = Figure("f", "g", "f", value, "base", baseline, goal_p50=1.0, goal_ratio=300.0)
    assert fast.ratio == pytest.approx(400.0) and fast.passed is True
    slow = Figure("f", "g", "f", value, "base", baseline, goal_p50=1.0, goal_ratio=500.0)
    assert slow.passed is False
    floor = Figure("f", "g", "f", value, "base", Stats.of([0.25], "ms"), ratio_kind="multiple")
    assert floor.ratio == pytest.approx(4.0) and floor.passed is None
    with pytest.raises(ValueError, match="baseline in s but value in ms"):
        Figure("f", "g", "f", value, "base", Stats.of([1.0], "s"))


def test_only_rejects_unknown_benchmarks() -> None:
    assert parse_only("neighbors, drag") == ("neighbors", "drag")
    with pytest.raises(BenchError, match="choose from drag, neighbors"):
        parse_only("drag,typo")

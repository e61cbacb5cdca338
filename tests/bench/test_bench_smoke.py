"""The benchmark runs end to end in quick mode and writes well-formed results.

Speed is never asserted here (test machines vary too much); what is asserted is the shape of
the results, that every timing is a positive finite number with ordered percentiles, and that
the neighbour baseline agrees with the index, so the ratio compares equal answers. Each group
runs at tiny sizes (a few thousand latents, a few hundred images) on the session's small model.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench import api
from bench.ann import AnnConfig, bench_ann, recall_at_k
from bench.api import ApiConfig, bench_api
from bench.build import BuildCase, BuildConfig, bench_build
from bench.cli import _load, main, parse_only, parse_sizes
from bench.drag_streams import StreamsConfig, bench_streams
from bench.placement import PlacementConfig, bench_placement
from bench.report import markdown
from bench.search import SearchConfig, bench_search, synthetic_index
from bench.stats import BenchError, BenchSkipped, Figure, Stats, count_tag
from bench.throughput import ThroughputConfig, bench_throughput

IN_PROCESS_KEYS = {
    "drag_frame",
    "drag_frame_sync",
    "drag_inverse",
    "drag_decode",
    "drag_png",
    "drag_decode_batch_1",
    "drag_decode_batch_8",
    "drag_decode_batch_32",
    "neighbors_2k",
    "neighbors_5k",
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
            "--neighbors-n", "2000,5000",
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

    for n in (2000, 5000):
        neighbors = figures[f"neighbors_{count_tag(n)}"]
        check_stats(neighbors["baseline"])
        assert neighbors["ratio"] > 0 and neighbors["ratio_kind"] == "speedup"
        assert neighbors["goal_p50"] == 1.0  # the 1 ms goal holds up to 70,000 latents
        assert neighbors["details"]["n_items"] == n
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
    assert fast.ratio_text() == "400× faster"
    slower = Figure("f", "g", "f", value, "base", Stats.of([0.5], "ms"))
    assert slower.ratio == pytest.approx(0.5) and slower.ratio_text() == "2.00× slower"
    recall = Figure("r", "g", "r", Stats.of([0.97], ""), goal_min=0.95)
    assert recall.passed is True and recall.goal_text() == "≥ 0.950"
    assert Figure("r", "g", "r", Stats.of([0.9], ""), goal_min=0.95).passed is False
    floor = Figure("f", "g", "f", value, "base", Stats.of([0.25], "ms"), ratio_kind="multiple")
    assert floor.ratio == pytest.approx(4.0) and floor.passed is None
    with pytest.raises(ValueError, match="baseline in s but value in ms"):
        Figure("f", "g", "f", value, "base", Stats.of([1.0], "s"))


def test_only_rejects_unknown_benchmarks() -> None:
    assert parse_only("neighbors, drag") == ("neighbors", "drag")
    with pytest.raises(BenchError, match="choose from drag, neighbors"):
        parse_only("drag,typo")


@pytest.fixture(scope="module")
def loaded(workspace: Path, model_name: str) -> Any:
    """The session's small model as the server holds it (checkpoint, index, warmed up)."""
    return _load(workspace, model_name, torch.device("cpu"))


@pytest.fixture(scope="module")
def small_loaded(loaded: Any) -> Any:
    """The same model over a 300-item index: umap-learn fits it in about a second."""
    from dataclasses import replace

    from app.index.build import build_index
    from app.index.fitting import IndexParams
    from models.data import load_dataset

    data = load_dataset("digits", image_size=loaded.image_shape[1], size=300, seed=0)
    index = build_index(loaded.model, loaded.info, data, IndexParams(), loaded.device)
    return replace(loaded, index=index)  # its caches (init=False fields) start empty


def figures_by_key(figures: list[Figure]) -> dict[str, dict[str, Any]]:
    """Each figure as results.json records it, by key, after the checks every figure passes."""
    out = {}
    for figure in figures:
        record = figure.to_dict()
        assert record["passed"] in (True, False, None)
        if record["value"]["unit"]:  # a time: positive, ordered percentiles
            check_stats(record["value"])
        if record["baseline"] is not None:
            assert record["baseline"]["unit"] == record["value"]["unit"]
        out[record["key"]] = record
    assert len(out) == len(figures), "figure keys must be unique"
    return out


def test_exact_neighbours_keep_the_goal_to_70k_only() -> None:
    from bench.neighbors import NeighborsConfig, bench_neighbors, mixture_split

    config = NeighborsConfig(
        sizes=(3000, 100_000), queries=20, baseline_queries=5, large_queries=5,
        large_baseline_queries=3, warmup=1,
    )  # fmt: skip
    figures = figures_by_key(bench_neighbors(config))
    assert set(figures) == {"neighbors_3k", "neighbors_100k"}
    assert figures["neighbors_3k"]["goal_p50"] == 1.0
    big = figures["neighbors_100k"]
    assert big["goal_p50"] is None and big["passed"] is None  # 1M-like sizes: no ms goal
    assert big["details"]["queries"] == 5 and big["details"]["baseline_queries"] == 3
    assert big["details"]["same_neighbours_as_sklearn"] == 1.0
    by_threads = big["details"]["p50_ms_by_blas_threads"]
    assert "1" in by_threads and all(ms > 0 for ms in by_threads.values())
    # The items of a size do not depend on how many queries a benchmark draws.
    a, qa = mixture_split(500, 3, 8, 4, seed=1)
    b, qb = mixture_split(500, 30, 8, 4, seed=1)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert qa.shape == (3, 8) and not np.isin(qa, a).any()  # queries are unseen points


def test_ann_reports_latency_recall_and_build() -> None:
    figures = figures_by_key(
        bench_ann(AnnConfig(n_items=5000, queries=60, baseline_queries=10, warmup=2))
    )
    assert set(figures) == {"ann_5k", "ann_recall_5k", "ann_build_5k"}
    latency = figures["ann_5k"]
    assert latency["ratio"] > 0 and latency["ratio_kind"] == "speedup"
    assert latency["details"]["queries"] == 60 and latency["details"]["baseline_queries"] == 10
    recall = figures["ann_recall_5k"]
    assert recall["goal_min"] == 0.95 and recall["details"]["queries"] == 60
    # The index calibrates itself to a recall target; unseen queries land near it.
    assert 0.9 <= recall["value"]["p50"] <= 1.0 and recall["passed"] is not None
    assert 0.0 <= recall["details"]["recall_min"] <= recall["value"]["p50"]
    build = figures["ann_build_5k"]
    assert build["value"]["unit"] == "s" and build["ratio_kind"] == "multiple"
    assert build["details"]["fitted"]["build_seconds_"] == build["value"]["p50"]


def test_search_compares_equal_answers_prepared_and_bare() -> None:
    figures = figures_by_key(bench_search(SearchConfig(items=3000, reps=2)))
    assert set(figures) == {"search_label_3k", "search_mixed_3k", "search_name_3k"}
    index = synthetic_index(3000, 0)
    digit3 = int((index.labels == 3).sum())
    assert figures["search_label_3k"]["details"]["matches"] == digit3 > 200  # ~1 in 10
    # item_00012xx: the 100 names 0001200-0001299
    assert figures["search_name_3k"]["details"]["matches"] == 100
    for figure in figures.values():
        check_stats(figure["value"])
        check_stats(figure["baseline"])
        assert figure["ratio_kind"] == "speedup" and figure["ratio"] > 0


def test_recall_at_k_counts_shared_ids() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 2, 1], [5, 6, 0, 9]])
    assert recall_at_k(found, truth).tolist() == [1.0, 0.5]


def test_ann_is_skipped_without_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "app.index.ann", None)  # import now raises ImportError
    with pytest.raises(BenchSkipped, match="ann.py is not importable"):
        bench_ann(AnnConfig(n_items=100, queries=5, baseline_queries=1, warmup=1))


def test_placement_is_stable_and_compared_with_umap_learn(small_loaded: Any) -> None:
    config = PlacementConfig(points=20, batch=20, umap_reps=3, umap_seconds=10.0, warmup=1)
    figures = figures_by_key(bench_placement(small_loaded, config))
    assert set(figures) == {"placement_umap", "placement_stability"}
    speed = figures["placement_umap"]
    check_stats(speed["baseline"])
    assert speed["ratio"] > 0 and speed["details"]["umap_queries"] == 3
    stable = figures["placement_stability"]
    assert stable["value"]["p50"] == 0.0 and stable["passed"] is True  # goal: identical
    assert stable["goal_p50"] == 0.0 and stable["details"]["batch"] == 20
    assert math.isfinite(stable["baseline"]["p50"]) and stable["baseline"]["p50"] >= 0.0


def test_throughput_per_image_at_both_batch_sizes(loaded: Any) -> None:
    config = ThroughputConfig(batches=(1, 16), rounds=2, singles_per_round=3, warmup_rounds=1)
    figures = figures_by_key(bench_throughput([loaded], config))
    expected = {f"{op}_b{b}_cpu" for op in ("encode", "decode") for b in (1, 16)}
    assert expected <= set(figures)
    assert set(figures) - expected <= {
        "encode_b16_cpu_onednn_flipped",
        "decode_b16_cpu_onednn_flipped",
    }
    for op in ("encode", "decode"):
        single, batch = figures[f"{op}_b1_cpu"], figures[f"{op}_b16_cpu"]
        assert single["baseline"] is None and batch["details"]["batch"] == 16
        assert batch["baseline"] == single["value"] and batch["ratio"] > 0
        rate = batch["details"]["images_per_second"]
        assert rate == pytest.approx(1e6 / batch["value"]["p50"])
        assert f"{rate:,.0f} images/s" in batch["label"]
    # The app's choices are left as they were: oneDNN on for encoding 8 or more, off to decode.
    assert loaded.encode_onednn_min_batch == 8 and loaded.decode_onednn is False
    assert torch.backends.mkldnn.enabled is True


def test_build_splits_each_size_into_phases(loaded: Any) -> None:
    config = BuildConfig(cases=(BuildCase("model", 200, 2), BuildCase("shapes", 250, 1)))
    figures = bench_build(loaded, config)
    records = figures_by_key(figures)
    assert set(records) == {"build_200", "build_250"}
    small, large = records["build_200"], records["build_250"]
    assert small["value"]["n"] == 2 and small["baseline"] is None
    assert large["baseline"] == small["value"] and large["ratio_kind"] == "multiple"
    assert large["details"]["dataset"] == "shapes" and large["details"]["items_ratio"] == 250 / 200
    assert large["details"]["image_shape"] == list(loaded.image_shape)
    for record in records.values():
        phases = record["details"]["phases_p50_s"]
        assert {"encode", "PCA", "UMAP", "inverse maps", "kNN quality", "other"} <= set(phases)
        assert all(s >= 0 for s in phases.values()) and phases["UMAP"] > 0
        assert sum(phases.values()) == pytest.approx(record["value"]["p50"], rel=0.05)
    table = markdown(figures, {"cpu": "x", "cores_usable": 2, "torch": "t", "torch_threads": 2,
                               "device": "cpu", "load_average": [0.0]},
                     {"argv": [], "model": loaded.name})  # fmt: skip
    assert "| items | dataset | runs | encode | PCA | UMAP |" in table
    assert "| 250 | shapes | 1 |" in table


def test_cold_start_serves_from_an_empty_workspace(
    workspace: Path, model_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cold start's wiring: a fresh workspace, `python -m app run`, health, clean-up.

    Training the default model takes a minute, so here the fresh workspace already holds the
    session's small model and `run` goes straight to serving it.
    """
    made: list[Path] = []
    fresh_workspace = api.fresh_workspace

    def seeded_workspace(parent: Path) -> Path:
        folder = fresh_workspace(parent)
        shutil.copytree(workspace / model_name, folder / model_name)
        made.append(folder)
        return folder

    monkeypatch.setattr(api, "fresh_workspace", seeded_workspace)
    config = ApiConfig(cold_starts=1, server_threads=1)
    figures = figures_by_key(bench_api(workspace, model_name, config, {"cold"}, tmp_path))
    cold = figures["server_cold_start"]
    check_stats(cold["baseline"])
    assert cold["ratio_kind"] == "multiple" and cold["ratio"] > 0
    assert [list(built) for built in cold["details"]["models"]] == [[model_name]]
    assert made and not made[0].exists()  # the fresh workspace is removed afterwards
    assert " -m app run --workspace " in (tmp_path / "server-cold.log").read_text()


def test_drag_streams_report_per_stream_rates_and_batching(
    workspace: Path, model_name: str, tmp_path: Path
) -> None:
    """A few streams at once against a real server, clients in their own process: every
    stream gets frames, and the frames of several streams shared forward passes."""
    config = StreamsConfig(streams=4, seconds=1.0, warmup=0.3)
    figures = figures_by_key(
        bench_streams(workspace, {"digits": model_name}, config, tmp_path, lambda _: None)
    )
    assert set(figures) == {
        "streams_digits_per_stream",
        "streams_digits_total",
        "streams_digits_latency",
        "streams_digits_single_latency",
    }
    for figure in figures.values():
        check_stats(figure["value"])
    details = figures["streams_digits_per_stream"]["details"]
    assert details["streams"] == 4 and details["per_stream_fps_worst"] > 0
    assert details["single_stream"]["forward_passes_per_frame"] == 1.0  # alone: batch 1
    assert 0.25 <= details["forward_passes_per_frame"] <= 1.0  # 4 streams: batches of 1 to 4
    assert figures["streams_digits_total"]["ratio_kind"] == "multiple"


def test_sizes_and_new_groups_parse() -> None:
    assert parse_sizes("70000,1000000") == (70_000, 1_000_000)
    for bad in ("", "0", "x,1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_sizes(bad)
    assert parse_only("ann,placement,throughput,build,cold") == (
        "ann", "placement", "throughput", "build", "cold",
    )  # fmt: skip
    assert [count_tag(n) for n in (1797, 2000, 70_000, 1_000_000)] == ["1797", "2k", "70k", "1m"]


def test_a_failing_group_is_recorded_and_the_others_still_run(
    workspace: Path, model_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.cli

    def broken(*args: object) -> list[Figure]:
        raise BenchError("server never became healthy")

    monkeypatch.setattr(bench.cli, "bench_placement", broken)
    argv = ["--workspace", str(workspace), "--model", model_name, "--quick", "--out",
            str(tmp_path), "--only", "placement,neighbors", "--neighbors-n", "1000"]  # fmt: skip
    assert main(argv) == 2
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["run"]["failed"] == {"placement": "server never became healthy"}
    assert [f["key"] for f in results["figures"]] == ["neighbors_1k"]


def test_umap_sample_reports_time_saved_and_trustworthiness_kept(loaded: Any) -> None:
    from bench.umap_sample import UmapSampleConfig, bench_umap_million, bench_umap_sample

    config = UmapSampleConfig(items=600, max_fit=200, big_items=3000, big_max_fit=400)
    (sample,) = figures_by_key(bench_umap_sample(loaded, config)).values()
    assert sample["key"] == "umap_sample_600" and sample["baseline"] is not None
    details = sample["details"]
    assert details["items"] == 600 and details["max_fit"] == 200
    for name in ("trustworthiness_full", "trustworthiness_sample"):
        assert 0.5 < details[name] <= 1.0
    assert details["trustworthiness_drop"] == pytest.approx(
        details["trustworthiness_full"] - details["trustworthiness_sample"]
    )
    (big,) = figures_by_key(bench_umap_million(config)).values()
    assert big["group"] == "umap1m" and big["details"]["finite"] is True
    assert big["value"]["p50"] == pytest.approx(
        big["details"]["fit_seconds"] + big["details"]["place_seconds"]
    )


def test_the_objectives_table_has_one_row_per_run_with_its_figures() -> None:
    from bench.objectives import table

    quality = {
        "split_knn_accuracy": 0.9751,
        "probe_accuracy": 0.96,
        "uniformity": -2.345,
        "latent_std_ratio": 0.5,
        "denoising": {"noise": "gaussian:0.3", "psnr": 24.94, "input_psnr": 12.61},
        "shape_factor_r2": {"x": 0.9, "y": 0.8, "scale": 0.7, "rotation": 0.1},
        "shape_accuracy": 0.93,
    }
    row = {
        "kind": "dae",
        "dataset": "shapes",
        "epochs": 60,
        "epochs_run": 41,
        "train_seconds": 35.2,
        "quality": quality,
    }
    lines = table([row, row | {"kind": "simclr", "quality": {"uniformity": -1.0}}]).splitlines()
    assert len(lines) == 4 and lines[0].count("|") == lines[2].count("|") == 14
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:6] == ["shapes", "dae", "60 (41)", "35", "0.975", "0.960"]
    assert cells[6:] == ["–", "-2.35", "0.500", "–", "24.9 (12.6, gaussian:0.3)",
                         "0.90 / 0.80 / 0.70 / 0.10", "0.930"]  # fmt: skip
    assert lines[3].split("|")[2].strip() == "simclr" and lines[3].count("–") == 8

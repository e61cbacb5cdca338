"""The folder benchmark end to end at a tiny size: both ways index the same items in their own
processes and the figures compare them. Speed and memory are not asserted (machines vary)."""

from __future__ import annotations

import math
from pathlib import Path

from bench.cli import parse_only
from bench.folder_stream import FolderStreamConfig, bench_folder_stream


def test_folder_benchmark_indexes_both_ways_and_cleans_up(tmp_path: Path) -> None:
    config = FolderStreamConfig(items=40, image_size=8, latent_dim=2, width=4, threads=1)
    figures = {f.key: f.to_dict() for f in bench_folder_stream(config, tmp_path)}

    assert set(figures) == {
        "folder_stream_read_mb_40", "folder_stream_peak_mb_40", "folder_stream_time_40"
    }  # fmt: skip
    for figure in figures.values():
        assert figure["group"] == "folder" and figure["ratio_kind"] == "multiple"
        for stats in (figure["value"], figure["baseline"]):
            assert math.isfinite(stats["p50"]) and stats["p50"] > 0
    details = figures["folder_stream_read_mb_40"]["details"]
    stream, memory = details["stream"], details["memory"]
    assert stream["items"] == memory["items"] == 40
    assert set(stream["phases"]) == {"list", "decode+encode", "fit", "save"}
    assert set(memory["phases"]) == {"load", "encode", "fit", "save"}
    assert {"decode", "encode", "pca", "quality"} <= set(stream["timings"])
    assert details["floor_peak_anon_mb"] > 0 and stream["maxrss_mb"] >= stream["peak_anon_mb"]
    assert list(tmp_path.iterdir()) == []  # the folder and its workspace are deleted
    assert "folder" in parse_only("folder")  # opt-in: only when asked for
    assert "folder" not in parse_only(None)

"""What a run records: the machine it ran on, and the results as JSON and a Markdown table."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Figure, format_number, format_value

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def machine_facts(device: str) -> dict[str, Any]:
    """CPU, cores, load and library versions: the context any figure needs to be read in."""
    import numpy
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": _usable_cores(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.enabled),
        "device": device,
        "thread_pools": _thread_pools(),
        "thread_env": {k: v for k, v in os.environ.items() if k in THREAD_ENV},
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _thread_pools() -> list[dict[str, Any]]:
    """The native thread pools loaded (OpenBLAS, OpenMP) and their sizes: on a busy machine a
    pool of 2 threads per process can cost more than it gains, so a reader needs to see them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # installed with scikit-learn; only a detail of the report
        return []
    keys = ("internal_api", "prefix", "version", "num_threads")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def _usable_cores() -> int | None:
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def results_dict(
    figures: list[Figure], machine: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": run,
        "machine": machine,
        "figures": [f.to_dict() for f in figures],
    }


def markdown_table(figures: list[Figure]) -> str:
    """figure | p50 | goal | baseline | ratio | pass: one row per figure."""
    rows = [
        "| figure | p50 | goal | baseline (p50) | ratio | pass |",
        "|---|---:|---|---|---:|:---:|",
    ]
    for f in figures:
        baseline = ""
        if f.baseline is not None:
            baseline = f"{f.baseline_label}: {format_value(f.baseline.p50, f.baseline.unit)}"
        verdict = {True: "pass", False: "**FAIL**", None: "–"}[f.passed]
        rows.append(
            f"| {f.label} | {format_value(f.value.p50, f.value.unit)} | {f.goal_text() or '–'} "
            f"| {baseline or '–'} | {f.ratio_text() or '–'} | {verdict} |"
        )
    return "\n".join(rows)


def markdown(figures: list[Figure], machine: dict[str, Any], run: dict[str, Any]) -> str:
    """The whole results.md: context line, table, and the drag frame's breakdown."""
    load = machine.get("load_average")
    lines = [
        "# Benchmarks",
        "",
        f"`python -m bench{' ' + ' '.join(run['argv']) if run['argv'] else ''}` on "
        f"{machine['cpu']}, {machine['cores_usable']} usable cores, torch {machine['torch']} "
        f"({machine['torch_threads']} threads, {machine['device']}); load average at the start "
        f"{load[0] if load else '?'}. Model: `{run['model']}`.",
        "",
        "Each figure is the median (p50) of many runs; each ratio compares it with a baseline "
        "measured in the same run. The ↳ rows are the p50 of each step alone: with long tails "
        "they need not add up to the frame's p50. p90/p99 and the details are in results.json.",
        "",
        markdown_table(figures),
    ]
    frame = next((f for f in figures if f.key == "drag_frame"), None)
    profile = frame.details.get("decoder_profile") if frame else None
    if profile:
        lines += [
            "",
            "Where one decode's time goes (p50, µs). Each step is timed in a tight loop, so warm: "
            "in the drag loop above, other work runs between decodes and each costs more.",
            "",
            "| step | p50 |",
            "|---|---:|",
        ]
        rows = list(profile["layers_p50_us"].items())
        rows += [
            ("sum of the layers", profile["layers_sum_us"]),
            ("`model.decode` on a tensor", profile["model_decode_tensor_p50_us"]),
            ("`LoadedModel.decode` (numpy in and out)", profile["loaded_decode_numpy_p50_us"]),
        ]
        rows += [
            (f"`LoadedModel.decode` with {n} torch thread(s)", us)
            for n, us in profile["loaded_decode_p50_us_by_threads"].items()
        ]
        rows.append(("one tiny torch op (dispatch floor)", profile["torch_single_op_p50_us"]))
        lines += [f"| {name} | {format_number(us)} |" for name, us in rows]
    lines += build_phase_table(figures)
    return "\n".join(lines) + "\n"


def build_phase_table(figures: list[Figure]) -> list[str]:
    """Where each index build's time goes: one row per size, one column per phase (seconds,
    the median over that size's runs). Empty when the run has no build figures."""
    builds = [f for f in figures if f.group == "build" and "phases_p50_s" in f.details]
    if not builds:
        return []
    phases = list(dict.fromkeys(p for f in builds for p in f.details["phases_p50_s"]))
    lines = [
        "",
        "Where an index build's time goes (seconds; p50 over the runs of each size; `other` is "
        "the wall time outside the recorded phases, mostly hashing the data):",
        "",
        "| items | dataset | runs | " + " | ".join(phases) + " | total |",
        "|---:|---|---:|" + "---:|" * (len(phases) + 1),
    ]
    for f in builds:
        d = f.details
        cells = [format_number(d["phases_p50_s"].get(p, 0.0)) for p in phases]
        lines.append(
            f"| {d['items']:,} | {d['dataset']} | {d['runs']} | {' | '.join(cells)} "
            f"| {format_number(f.value.p50)} |"
        )
    return lines


def write_results(
    out_dir: Path, figures: list[Figure], machine: dict[str, Any], run: dict[str, Any]
) -> tuple[Path, Path]:
    """Write results.json and results.md into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    json_path.write_text(json.dumps(results_dict(figures, machine, run), indent=2) + "\n")
    md_path.write_text(markdown(figures, machine, run))
    return json_path, md_path

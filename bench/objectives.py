"""Every objective at its defaults, on digits and on shapes: the figures that tell them apart.

``python -m bench --only objectives`` trains each kind (ae, vae, dae, simclr, siamese,
triplet, jepa) with the CLI's defaults (each kind's own default epochs, width 16, latent 8,
32 px) on digits and on shapes, builds its index (PCA only: the measures do not depend on the
map), and writes a markdown table of its quality figures (app/index/objective_quality.py,
app/index/model_measures.py) and its training time to ``objectives.md`` (and every figure to
``objectives.json``) in the output folder. ``--quick`` runs it at test size (300 items, 16 px,
width 8, one epoch) to check that it works. docs/objectives.md explains every column.

Shapes is generated at ``shapes_size`` items (2,000 by default, about digits' 1,797), not its
full 20,000, so that a kind's run on shapes costs about what it costs on digits.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.stats import Figure

KINDS = ("ae", "vae", "dae", "simclr", "siamese", "triplet", "jepa")


@dataclass(frozen=True)
class ObjectivesConfig:
    kinds: tuple[str, ...] = KINDS
    datasets: tuple[str, ...] = ("digits", "shapes")
    size: int | None = None  # digits items (None: all 1,797)
    shapes_size: int = 2000
    image_size: int = 32
    width: int = 16
    latent_dim: int = 8
    epochs: int | None = None  # None: each kind's default (models/base.py default_epochs)
    seed: int = 0


QUICK_OBJECTIVES = ObjectivesConfig(size=300, shapes_size=300, image_size=16, width=8, epochs=1)


def train_one(kind: str, dataset: str, config: ObjectivesConfig, root: Path) -> dict[str, Any]:
    """Train ``kind`` on ``dataset`` into ``root``; its training facts and quality figures."""
    import torch

    from app.index.fitting import IndexParams
    from app.services.training import TrainRequest, train_model
    from models.checkpoint import read_info
    from models.registry import architecture
    from models.training import TrainConfig

    epochs = config.epochs or architecture(kind).default_epochs
    request = TrainRequest(
        dataset=dataset,
        architecture=kind,
        latent_dim=config.latent_dim,
        image_size=config.image_size,
        width=config.width,
        size=config.shapes_size if dataset == "shapes" else config.size,
        train=TrainConfig(epochs=epochs, seed=config.seed, progress=False),
    )
    t0 = time.perf_counter()
    folder, index = train_model(
        request, root, torch.device("cpu"), IndexParams(projections=("pca",))
    )
    wall = time.perf_counter() - t0
    training = read_info(folder).training
    assert index is not None
    return {
        "kind": kind,
        "dataset": dataset,
        "epochs": epochs,
        "epochs_run": training["epochs_run"],
        "train_seconds": training["seconds"],
        "wall_seconds": wall,
        "quality": index.quality,
    }


def _fmt(value: Any, spec: str, scale: float = 1.0) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value * scale, spec)
    return "–"


COLUMNS: tuple[tuple[str, str], ...] = (
    ("held-out kNN", "split_knn_accuracy"),
    ("probe", "probe_accuracy"),
    ("alignment", "alignment"),
    ("uniformity", "uniformity"),
    ("std ratio", "latent_std_ratio"),
    ("PSNR dB", "reconstruction_psnr"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table: one row per (dataset, kind)."""
    head = [
        "dataset",
        "kind",
        "epochs (run)",
        "train s",
        *(name for name, _ in COLUMNS),
        "denoising dB (input)",
        "R² x / y / scale / rotation",
        "shape acc.",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        q = row["quality"]
        d = q.get("denoising") or {}
        r2 = q.get("shape_factor_r2") or {}
        cells = [
            row["dataset"],
            row["kind"],
            f"{row['epochs']} ({row['epochs_run']})",
            f"{row['train_seconds']:.0f}",
            _fmt(q.get("split_knn_accuracy"), ".3f"),
            _fmt(q.get("probe_accuracy"), ".3f"),
            _fmt(q.get("alignment"), ".3f"),
            _fmt(q.get("uniformity"), ".2f"),
            _fmt(q.get("latent_std_ratio"), ".3f"),
            _fmt(q.get("reconstruction_psnr"), ".1f"),
            f"{_fmt(d.get('psnr'), '.1f')} ({_fmt(d.get('input_psnr'), '.1f')}, {d['noise']})"
            if d
            else "–",
            " / ".join(_fmt(r2.get(k), ".2f") for k in ("x", "y", "scale", "rotation"))
            if r2
            else "–",
            _fmt(q.get("shape_accuracy"), ".3f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bench_objectives(
    config: ObjectivesConfig, out_dir: Path, machine: dict[str, Any], say: Any = print
) -> list[Figure]:
    """Train every kind on every dataset, write objectives.md and objectives.json into
    ``out_dir``; no speed figures (the table is the result)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-objectives-") as tmp:
        for dataset in config.datasets:
            for kind in config.kinds:
                say(f"objectives: {kind} on {dataset}")
                rows.append(train_one(kind, dataset, config, Path(tmp)))
    out_dir.mkdir(parents=True, exist_ok=True)
    load = machine.get("load_average")
    header = (
        "# Objectives at their defaults\n\n"
        f"`python -m bench --only objectives` with {json.dumps(asdict(config))} on "
        f"{machine.get('cpu')}, {machine.get('cores_usable')} usable cores; load average at "
        f"the start {load[0] if load else '?'}. Split figures are on the held-out 20 %; "
        "docs/objectives.md gives the formulas.\n\n"
    )
    (out_dir / "objectives.md").write_text(header + table(rows))
    (out_dir / "objectives.json").write_text(
        json.dumps({"config": asdict(config), "machine": machine, "rows": rows}, indent=2) + "\n"
    )
    say(f"objectives: wrote {out_dir / 'objectives.md'}")
    return []

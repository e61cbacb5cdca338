"""Writers of small embeddings files for the import tests: real files, the formats users bring."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image


def seeded_vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    """(n, d) float32, distinct enough that nearest neighbours have no ties."""
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def write_vectors_tsv(path: Path, vectors: np.ndarray) -> Path:
    # ".9g" round-trips float32 exactly, so the imported vectors equal these bit for bit.
    lines = ["\t".join(f"{x:.9g}" for x in row) for row in vectors.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """(H, W) grey or (H, W, 3) RGB uint8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG")  # also for names without a suffix
    return path


def write_sprite(path: Path, colours: np.ndarray, tile: tuple[int, int]) -> Path:
    """A projector sprite: tile i filled with colours[i] (N, 3), ceil(sqrt(N)) tiles a side."""
    width, height = tile
    side = math.ceil(math.sqrt(len(colours)))
    sheet = np.zeros((side * height, side * width, 3), dtype=np.uint8)  # (H, W, 3)
    for i, colour in enumerate(colours):
        row, column = divmod(i, side)
        sheet[row * height : (row + 1) * height, column * width : (column + 1) * width] = colour
    return write_png(path, sheet)


def write_parquet(path: Path, columns: dict[str, object]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, to show a failed import left the workspace alone."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))

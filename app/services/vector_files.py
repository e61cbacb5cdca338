"""Read precomputed embeddings from files: the vectors, their metadata and their images.

``read_vector_files`` checks everything before anything is written, and every message names
the file, the line (1-based, header included) or row, and the column at fault. What it
returns goes to ``import_embeddings`` (app/services/embeddings.py).

Vectors (by suffix):

- ``.npy``: a 2-D array of floats or integers, read with ``allow_pickle=False``.
- ``.parquet``: a column of lists of numbers (the only one, or ``vector_column``), the other
  columns metadata; without a list column every numeric column is a dimension and the rest
  (text, dates, booleans) is metadata.
- ``.tsv``: the Embedding Projector's ``vectors.tsv``, one vector per line, tab-separated,
  no header.
- ``.bytes``: the Projector's standalone tensors, raw little-endian float32, row after row;
  their shape comes from the ``projector_config.json`` listing them
  (app/services/projector_config.py).

Metadata columns: a one-column metadata file is the label (the Projector's rule) unless
``label`` names another column; a column of whole numbers with at most 50 distinct values is a
category (``table_files.column_kinds``) unless ``numeric`` says otherwise.

Metadata from ``.tsv``/``.csv`` files: app/services/table_files.py. Images: a metadata column of
image paths or a projector sprite: app/services/vector_images.py.

Every vectors file must hold at least ``MIN_EMBEDDING_ROWS`` vectors of ``MIN_EMBEDDING_DIM`` to
``MAX_EMBEDDING_DIM`` dimensions (models/embeddings.py): what the index can be built from.

Item names: a column called ``name``, else ``id``, else ``item``, else ``title`` (any case;
this order of preference, wherever the columns stand; of names differing only in case, the
first column), otherwise ``row 17`` (the 1-based vector number); an empty name also falls back
to its row. Columns with these names are read as text (``NAME_COLUMNS``): ``007`` stays
``007`` and a 20-digit id keeps its digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.services.embeddings import EmbeddingsImport
from app.services.parquet_vectors import read_parquet
from app.services.table_files import (
    NAME_COLUMNS,
    SINGLE_COLUMN,
    Table,
    column_kinds,
    n_values,
    read_metadata,
    read_text,
    text_lines,
)
from app.services.vector_images import images_from_paths, images_from_sprite
from models.embeddings import EmbeddingsSource, shape_problem
from models.errors import ConfigError, DatasetError

VECTOR_SUFFIXES = (".npy", ".parquet", ".tsv", ".bytes")
SHOWN_ROWS = 5  # bad rows named in one message; the rest are counted


@dataclass(frozen=True)
class VectorFiles:
    """Which files to read and how (the ``import-embeddings`` command's options)."""

    vectors: Path
    metadata: Path | None = None  # .tsv (projector) or .csv
    vector_column: str | None = None  # .parquet: the list column holding the vectors
    label: str | None = None  # metadata column whose values become the labels
    image_column: str | None = None  # metadata column of image paths
    sprite: Path | None = None  # projector sprite sheet
    sprite_size: tuple[int, int] | None = None  # (width, height) px of one tile
    image_size: int = 32  # thumbnails are made this many px square
    numeric: tuple[str, ...] = ()  # metadata columns kept as numbers (never a category)
    categorical: tuple[str, ...] = ()  # metadata columns made categories
    shape: tuple[int, int] | None = None  # .bytes: (N, D), from the projector config


def read_vector_files(files: VectorFiles) -> EmbeddingsImport:
    """Read and check every file; nothing is written."""
    _check_options(files)
    suffix = files.vectors.suffix.lower()
    tables: list[Table] = []
    keep_text = frozenset({files.image_column} if files.image_column else ())
    vectors = _read_vectors(files, suffix, keep_text, tables)
    inferred: frozenset[str] = frozenset()  # columns typed from their text, not by the file
    label = files.label
    if files.metadata is not None:
        table = read_metadata(files.metadata, keep_text)
        _check_length(files.vectors, len(vectors), table)
        tables.append(table)
        inferred = frozenset(table.columns)
        if label is None and len(table.columns) == 1:
            (label,) = table.columns  # the Projector's rule: a single column is the label
    metadata, origin = _merge(tables)
    metadata = column_kinds(metadata, inferred, files.numeric, files.categorical)
    check_finite(vectors, lambda rows: _rows_text(files.vectors, suffix, rows))
    _check_columns(files, metadata, tables)
    images = _images(files, metadata, origin, len(vectors))
    described = _described(files, suffix)
    return EmbeddingsImport(
        source=EmbeddingsSource(
            vectors=vectors,
            item_names=item_names(metadata, len(vectors)),
            labels=None,  # import_embeddings makes them from label_field
            metadata=metadata,
            images=images,
        ),
        label_field=label,
        described_as=described,
    )


def _read_vectors(
    files: VectorFiles, suffix: str, keep_text: frozenset[str], tables: list[Table]
) -> np.ndarray:
    """The (N, D) vectors, checked for shape; a Parquet file's other columns join ``tables``."""
    if suffix == ".npy":
        vectors = read_npy(files.vectors)
    elif suffix == ".parquet":
        vectors, own = read_parquet(files.vectors, files.vector_column, keep_text)
        if own.columns:
            tables.append(own)
    elif suffix == ".bytes":
        assert files.shape is not None  # _check_options
        vectors = read_bytes(files.vectors, files.shape)
    else:
        vectors = read_vectors_tsv(files.vectors)
    problem = shape_problem(*vectors.shape)
    if problem is not None:
        raise DatasetError(f"{files.vectors}: {problem}")
    return vectors


def _check_columns(
    files: VectorFiles, metadata: dict[str, np.ndarray], tables: list[Table]
) -> None:
    """--label and --image-column must name a metadata column."""
    for option, column in (("--label", files.label), ("--image-column", files.image_column)):
        if column is not None and not metadata:
            raise DatasetError(
                f"{option} {column!r}: there is no metadata to take it from: pass "
                "--metadata FILE (.tsv or .csv)"
            )
        if column is not None and column not in metadata:
            raise DatasetError(
                f"{option} {column!r}: no such metadata column in "
                f"{_sources(tables)}; columns are {', '.join(metadata)}"
            )


def _images(
    files: VectorFiles, metadata: dict[str, np.ndarray], origin: dict[str, Table], n: int
) -> np.ndarray | None:
    """The items' images from an image-path column or a sprite sheet; None without either."""
    if files.image_column is not None:
        column = files.image_column
        table = origin[column]  # read as text (keep_text), even "0001"
        return images_from_paths(
            [str(p) for p in metadata[column]],
            table.file.parent,
            lambda i: table.at(i, column),
            files.image_size,
        )
    if files.sprite is not None and files.sprite_size is not None:
        return images_from_sprite(files.sprite, files.sprite_size, n, files.image_size)
    return None


def _described(files: VectorFiles, suffix: str) -> dict[str, object]:
    """How the entry was imported, for its config.json."""
    return {
        "format": suffix.lstrip("."),
        "files": {
            k: str(v.resolve())
            for k, v in (
                ("vectors", files.vectors),
                ("metadata", files.metadata),
                ("sprite", files.sprite),
            )
            if v is not None
        },
        "vector_column": files.vector_column,
        "image_column": files.image_column,
    }


def default_name(vectors: Path) -> str:
    """The entry's name when ``--name`` is not given: the vectors file's stem, made safe."""
    return safe_name(vectors.stem)


def safe_name(text: str) -> str:
    """``text`` as an entry name: runs of other characters become ``-``, at most 64."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:64] or "embeddings"


def read_npy(path: Path) -> np.ndarray:
    """(N, D) float32 from a 2-D .npy array of floats or integers."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError) as exc:
        # ValueError also covers object arrays, which would need pickle to load.
        raise DatasetError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive saved under a .npy name
        raise DatasetError(f"{path}: holds several arrays (.npz); save one 2-D array instead")
    if array.ndim != 2:
        raise DatasetError(
            f"{path}: array of shape {array.shape}, expected 2-D (vectors, dimensions)"
        )
    if array.dtype.kind not in "fiu":
        raise DatasetError(f"{path}: dtype {array.dtype}, expected floats or integers")
    if array.shape[0] == 0:
        raise DatasetError(f"{path}: no vectors (shape {array.shape})")
    if array.shape[1] == 0:
        raise DatasetError(f"{path}: vectors of 0 dimensions (shape {array.shape})")
    with np.errstate(over="ignore"):  # past float32's range -> inf, refused by check_finite
        return array.astype(np.float32)


def read_bytes(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """(N, D) float32 from the Projector's raw tensor file: little-endian float32, N rows of
    D values, nothing else (its size is exactly N * D * 4 bytes)."""
    n, d = shape
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    if size != n * d * 4:
        raise DatasetError(
            f"{path}: {size} bytes, but a float32 tensor of shape [{n}, {d}] is "
            f"{n * d * 4} bytes (check tensorShape)"
        )
    return np.fromfile(path, dtype="<f4").reshape(n, d).astype(np.float32)


def read_vectors_tsv(path: Path) -> np.ndarray:
    """(N, D) float32 from a projector ``vectors.tsv``: tab-separated numbers, no header."""
    lines = text_lines(read_text(path))
    if not lines:
        raise DatasetError(f"{path}: empty file, expected one tab-separated vector per line")
    expected = len(lines[0].split("\t"))
    vectors = np.empty((len(lines), expected), dtype=np.float32)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise DatasetError(f"{path} line {number}: empty line, expected {expected} values")
        tokens = line.split("\t")
        if len(tokens) != expected:
            raise DatasetError(
                f"{path} line {number}: {n_values(len(tokens))}, expected {expected} (as on line 1)"
            )
        try:
            # numpy parses the whole line at C speed; only a failure looks token by token.
            # Past float32's range becomes inf, which check_finite refuses naming the line.
            with np.errstate(over="ignore"):
                vectors[number - 1] = np.array(tokens, dtype=np.float64)
        except ValueError:
            raise DatasetError(_bad_token(path, number, tokens)) from None
    return vectors


def check_finite(vectors: np.ndarray, rows_text: Callable[[np.ndarray], str]) -> None:
    """Refuse NaN and infinite values (also numbers past float32's range), naming rows."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise DatasetError(
            f"{rows_text(bad)}: NaN, infinite or missing values (or numbers beyond float32's "
            "range); every vector must be finite"
        )


def item_names(metadata: dict[str, np.ndarray], n: int) -> np.ndarray:
    """(N,) unicode names: a name-like column's values, else ``row 17``."""
    by_lower = {k.lower(): k for k in reversed(list(metadata))}  # the first of equal names
    rows = [f"row {i + 1}" for i in range(n)]
    for candidate in NAME_COLUMNS:
        if candidate in by_lower:
            column = metadata[by_lower[candidate]]
            names = [_as_name(v) for v in column.tolist()]
            return np.array([name or row for name, row in zip(names, rows, strict=True)])
    return np.array(rows)


def _as_name(value: str | float) -> str:
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return value.strip()


def _bad_token(path: Path, number: int, tokens: list[str]) -> str:
    for column, token in enumerate(tokens, 1):
        try:
            float(token)
        except ValueError:
            shown = repr(token) if token.strip() else "an empty value"
            hint = " (values are separated by tabs)" if " " in token.strip() else ""
            return f"{path} line {number}, column {column}: {shown} is not a number{hint}"
    return f"{path} line {number}: not a line of numbers"


def _rows_text(path: Path, suffix: str, rows: np.ndarray) -> str:
    """``vectors.tsv lines 3, 9`` or ``emb.npy rows 3, 9 (and 4 more)``, 1-based."""
    unit = "line" if suffix == ".tsv" else "row"
    shown = ", ".join(str(int(r) + 1) for r in rows[:SHOWN_ROWS])
    more = f" (and {len(rows) - SHOWN_ROWS} more)" if len(rows) > SHOWN_ROWS else ""
    return f"{path} {unit}{'s' if len(rows) > 1 else ''} {shown}{more}"


def _check_length(vectors: Path, n: int, table: Table) -> None:
    if table.n_rows == n:
        return
    hint = ""
    if list(table.columns) == [SINGLE_COLUMN] and table.n_rows == n + 1:
        hint = " (a single-column metadata.tsv has no header line: every line is a value)"
    raise DatasetError(
        f"{vectors} has {n} rows, {table.file} has {table.n_rows} data rows; "
        f"expected one per vector{hint}"
    )


def _merge(tables: list[Table]) -> tuple[dict[str, np.ndarray], dict[str, Table]]:
    """All metadata columns by name, and the table each came from."""
    metadata: dict[str, np.ndarray] = {}
    origin: dict[str, Table] = {}
    for table in tables:
        for name, column in table.columns.items():
            if name in origin:
                raise DatasetError(
                    f"column {name!r} is both in {origin[name].file} and in {table.file}: "
                    "rename one of them"
                )
            metadata[name], origin[name] = column, table
    return metadata, origin


def _sources(tables: list[Table]) -> str:
    return " and ".join(str(t.file) for t in tables)


def _check_options(files: VectorFiles) -> None:
    suffix = files.vectors.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise DatasetError(
            f"{files.vectors}: unknown vectors file type {suffix or '(none)'!r}: expected "
            ".npy, .parquet or .tsv (Embedding Projector vectors), or .bytes listed in a "
            "projector_config.json (--projector-config)"
        )
    if (suffix == ".bytes") != (files.shape is not None):
        raise ConfigError(
            f"{files.vectors}: a raw .bytes tensor has no shape of its own: import it with "
            "--projector-config FILE, whose tensorShape gives it"
            if files.shape is None
            else "a tensor shape applies to .bytes vectors only"
        )
    if files.vector_column is not None and suffix != ".parquet":
        raise ConfigError("--vector-column applies to .parquet vectors only")
    if files.image_column is not None and files.sprite is not None:
        raise ConfigError("choose one source of images: --image-column or --sprite, not both")
    if (files.sprite is None) != (files.sprite_size is None):
        raise ConfigError("--sprite and --sprite-size W H go together (the tile size in px)")

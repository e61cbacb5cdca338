"""Metadata tables read from text files, keeping where each value came from for messages.

Two text formats:

- ``.tsv``, the TensorFlow Embedding Projector's ``metadata.tsv``: one row per vector,
  tab-separated, no quoting. A file with a single column has no header line; with several
  columns the first line is the header (the projector's own rule, decided by whether the first
  line holds a tab). A single column is called ``label``.
- ``.csv``: comma-separated with the usual quoting; the first line is always the header.

Column types: a column whose every non-empty value is a number becomes float64, empty values
NaN; every other column stays text, and so do the columns that name items (``NAME_COLUMNS``,
any case: ``007`` is a name, not the number 7). ``column_kinds`` then makes a column of whole
numbers with at most ``MAX_INTEGER_CATEGORIES`` distinct values a category (text), unless the
user says otherwise. Blank lines at the end of a file are not rows. Lines are counted from 1,
header included, so a message's line number is the one an editor shows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import DatasetError

SINGLE_COLUMN = "label"  # the name of a headerless single-column metadata.tsv's one column
# Columns that name the items (app/services/vector_files.py picks one): always read as text.
NAME_COLUMNS = ("name", "id", "item", "title")
METADATA_SUFFIXES = (".tsv", ".csv")
# A column of whole numbers with at most this many distinct values is a category (digit
# labels, class ids), as the attribute vectors count categories (app/services/attributes.py).
MAX_INTEGER_CATEGORIES = 50

# Decimal numbers, NaN and infinities; stricter than float(), which also takes "1_000".
_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)\s*", re.IGNORECASE
)


@dataclass
class Table:
    """Columns read from one file, with where each row and column sits in it."""

    file: Path
    n_rows: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # (N,) float64 or unicode
    lines: np.ndarray | None = None  # (N,) 1-based line of each row; None: rows are counted
    positions: dict[str, int] = field(default_factory=dict)  # 1-based column numbers

    def at(self, row: int, column: str | None = None) -> str:
        """Where row ``row`` (0-based) is: ``meta.csv line 18, column 3 ('image')``."""
        if self.lines is not None:
            where = f"{self.file} line {int(self.lines[row])}"
        else:
            where = f"{self.file} row {row + 1}"
        if column is not None:
            position = self.positions.get(column)
            where += f", column {position} ({column!r})" if position else f", column {column!r}"
        return where


def read_text(path: Path) -> str:
    """The file as text (UTF-8, a byte-order mark dropped); bad bytes are named by line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a folder, expected a file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{path} line {line}: not UTF-8 text ({exc.reason})") from None


def text_lines(text: str) -> list[str]:
    """Lines without their ending; blank lines at the end of the file (a final newline, or
    the empty line the Projector's own demo files end with) are not rows."""
    lines = without_trailing_blank_lines(text).split("\n")
    if lines == [""]:
        return []
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def without_trailing_blank_lines(text: str) -> str:
    """``text`` up to the end of its last line that holds something."""
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    if not lines[-1].strip():
        return ""
    return "\n".join(lines)


def read_metadata(path: Path, keep_text: frozenset[str] = frozenset()) -> Table:
    """Read a ``.tsv`` (projector) or ``.csv`` metadata file; ``keep_text`` columns and name
    columns (``is_name_column``) stay text even when they look like numbers (image paths such
    as ``0001``, ids such as ``007``)."""
    suffix = path.suffix.lower()
    if suffix not in METADATA_SUFFIXES:
        raise DatasetError(
            f"{path}: unknown metadata file type {suffix or '(none)'!r}: expected "
            ".tsv (Embedding Projector metadata) or .csv (with a header line)"
        )
    text = read_text(path)
    rows, lines = _csv_rows(path, text) if suffix == ".csv" else _tsv_rows(text)
    if not rows:
        raise DatasetError(f"{path}: empty file, expected one line per vector")
    if suffix == ".tsv" and "\t" not in text.split("\n", 1)[0]:
        # The projector's rule: a single column has no header, every line is a value.
        header = [SINGLE_COLUMN]
    else:
        header = _check_header(path, [name.strip() for name in rows[0]])
        rows, lines = rows[1:], lines[1:]
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise DatasetError(
                f"{path} line {line}: {n_values(len(row))}, expected {len(header)} "
                f"(one per column of the header on line 1)"
            )
    table = Table(
        file=path,
        n_rows=len(rows),
        lines=np.array(lines, dtype=np.int64),
        positions={name: i + 1 for i, name in enumerate(header)},
    )
    for i, name in enumerate(header):
        values = [row[i] for row in rows]
        as_text = name in keep_text or is_name_column(name)
        table.columns[name] = text_column(values) if as_text else typed_column(values)
    return table


def is_name_column(name: str) -> bool:
    """Whether a column is one that may name the items: read as text, never as numbers."""
    return name.lower() in NAME_COLUMNS


def n_values(count: int) -> str:
    """``1 value``, ``15 values``: counts of values in messages."""
    return f"{count} value" if count == 1 else f"{count} values"


def typed_column(values: list[str]) -> np.ndarray:
    """float64 when every non-empty value is a number (empty -> NaN), else unicode text."""
    filled = [v for v in values if v.strip()]
    if filled and all(_NUMBER.fullmatch(v) for v in filled):
        return np.array([float(v) if v.strip() else np.nan for v in values], dtype=np.float64)
    return text_column(values)


def text_column(values: list[str]) -> np.ndarray:
    # An explicit dtype: np.array([]) would be float64, and one wide string must not cut others.
    width = max((len(v) for v in values), default=1)
    return np.array(values, dtype=f"<U{max(width, 1)}")


def _tsv_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """Projector TSV: split on tabs, no quoting; an empty line is one empty value."""
    rows = [line.split("\t") for line in text_lines(text)]
    return rows, list(range(1, len(rows) + 1))


def _csv_rows(path: Path, text: str) -> tuple[list[list[str]], list[int]]:
    """CSV records with the line each starts on (a quoted value may span lines)."""
    # Blank lines at the end are not records (as in the TSV).
    text = without_trailing_blank_lines(text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for record in reader:
            rows.append(record or [""])  # a blank line is one empty value, as in the TSV
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        # Named by the line its record starts on: where an unclosed quote opens.
        raise DatasetError(f"{path} line {start}: {exc}") from None
    return rows, lines


def _check_header(path: Path, header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if not name:
            raise DatasetError(f"{path} line 1, column {i}: empty column name in the header")
        if name in seen:
            raise DatasetError(
                f"{path} line 1, column {i}: column name {name!r} repeats column {seen[name]}"
            )
        seen[name] = i
    return header


def integer_categories(column: np.ndarray) -> bool:
    """Whether a numeric column holds whole numbers only (missing values aside), with at most
    ``MAX_INTEGER_CATEGORIES`` distinct ones: class ids rather than a measurement."""
    if column.dtype.kind not in "fiu":
        return False
    known = column[np.isfinite(column)] if column.dtype.kind == "f" else column
    if len(known) == 0 or not np.all(np.mod(known, 1) == 0):
        return False
    return len(np.unique(known)) <= MAX_INTEGER_CATEGORIES


def as_category(column: np.ndarray) -> np.ndarray:
    """A column as category text: whole numbers without a decimal point (``3``, not ``3.0``),
    other numbers as they read back, missing numbers as empty text."""
    if column.dtype.kind in "US":
        return column
    values: list[str] = []
    for value in column.tolist():
        if isinstance(value, float) and not np.isfinite(value):
            values.append("")
        elif isinstance(value, float) and value.is_integer():
            values.append(str(int(value)))
        else:
            values.append(repr(value) if isinstance(value, float) else str(value))
    return text_column(values)


def column_kinds(
    metadata: dict[str, np.ndarray],
    inferred: frozenset[str],
    numeric: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """The metadata with each column's kind settled: ``categorical`` columns become text,
    ``numeric`` ones must be numbers and stay so, and the other columns whose type was
    ``inferred`` from text become categories when ``integer_categories`` says so."""
    for option, names in (("--numeric", numeric), ("--categorical", categorical)):
        for name in names:
            if name not in metadata:
                raise DatasetError(
                    f"{option} {name!r}: no such metadata column; columns are "
                    f"{', '.join(metadata) or 'none'}"
                )
    both = sorted(set(numeric) & set(categorical))
    if both:
        raise DatasetError(f"column {both[0]!r} is given both as --numeric and --categorical")
    out: dict[str, np.ndarray] = {}
    for name, column in metadata.items():
        if name in numeric:
            if column.dtype.kind not in "fiu":
                raise DatasetError(
                    f"--numeric {name!r}: the column holds text, not numbers (e.g. "
                    f"{str(column[0])[:40]!r}); leave it out to keep it as a category"
                )
            out[name] = column
        elif name in categorical or (name in inferred and integer_categories(column)):
            out[name] = as_category(column)
        else:
            out[name] = column
    return out

"""Per-image metadata from a CSV file in the root of an image folder: ``PATH/metadata.csv``.

The first non-blank line is the header. One column names the image (header ``file``,
``filename``, ``path`` or ``image``, any case): its path relative to the folder, with ``/``
between folders, as the item is named in the explorer (``cats/tom.png``; a leading ``./`` is
dropped). Every other column becomes a metadata column of the items:

- numeric when every non-empty cell is a finite number (``3``, ``-0.5``, ``1e3``) and at least
  one cell is: float64, empty cells (and ``nan``) become NaN;
- text otherwise (unicode), cells kept as written, less surrounding spaces.

Images without a row get an empty text cell and NaN: the loader logs how many. Anything else
that would be a guess is refused with a ``DatasetError`` naming the CSV file, line and column:
a row naming an image that is not in the folder, an image named twice, a row with more or
fewer cells than the header, no (or two) file name columns, a column without a name or with a
built-in name (``file``, ``class``). The file is read as UTF-8, with or without a byte-order
mark, by the csv module (quoted cells may hold commas and line breaks).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import DatasetError

CSV_NAME = "metadata.csv"
FILENAME_HEADERS = ("file", "filename", "path", "image")
# Columns the folder loader makes itself: a CSV column of the same name would shadow one.
BUILT_IN_COLUMNS = ("file", "class")


@dataclass(frozen=True)
class CsvMetadata:
    """The columns of a metadata CSV, row by row, and which row describes which image."""

    path: Path
    columns: dict[str, np.ndarray]  # (R,) per column, in header order: float64 or unicode
    row_of: dict[str, int]  # image path relative to the folder -> row (0-based)

    def for_items(self, names: Sequence[str]) -> tuple[dict[str, np.ndarray], int]:
        """Each column for the items ``names`` in their order, and how many had no row.

        An item without a row gets NaN in numeric columns and "" in text ones.
        """
        rows = np.array([self.row_of.get(name, -1) for name in names], dtype=np.int64)
        missing = int((rows < 0).sum())
        out: dict[str, np.ndarray] = {}
        for key, column in self.columns.items():
            blank = np.array([np.nan if column.dtype.kind == "f" else ""], dtype=column.dtype)
            # Row -1 picks the appended blank: one gather, no per-item branch.
            out[key] = np.concatenate([column, blank])[rows]
        return out, missing


def read_metadata_csv(path: Path, image_names: Collection[str]) -> CsvMetadata:
    """Parse ``path`` against the folder's images (relative posix paths); see the module doc."""
    data = _read_utf8(path)
    # Decoded as it is read: a StringIO of the whole text would hold 4 bytes a character.
    # -sig: a byte-order mark (Excel writes one) is dropped.
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    # strict: a stray quote is an error to show, not a cell to guess at
    reader = csv.reader(text, strict=True)
    header: list[str] | None = None
    header_line = 0
    file_col = 0
    # Cells kept per column, not per row: one list each instead of a list per row (at 100,000
    # rows the row lists alone took ~10 MB).
    cells: list[list[str]] = []
    row_of: dict[str, int] = {}
    line_of: list[int] = []  # the CSV line each row starts on, for messages
    # reader.line_num is the line a record ends on, and a quoted cell may hold line breaks:
    # a record starts on the line after the one the previous record ended on.
    next_start = 1
    try:
        for raw in reader:
            line, next_start = next_start, reader.line_num + 1
            if not raw or all(not cell.strip() for cell in raw):
                continue  # blank lines carry nothing
            row = [cell.strip() for cell in raw]
            if header is None:
                header, header_line = row, line
                file_col = _check_header(path, header, line)
                cells = [[] for _ in header]
                continue
            if len(row) != len(header):
                raise DatasetError(
                    f"{path}: line {line} has {len(row)} cells but the header (line "
                    f"{header_line}) has {len(header)} columns: every row needs one cell per "
                    "column (leave a cell empty, not out)"
                )
            name = _image_name(row[file_col])
            where = f"{path}: line {line}, column {file_col + 1} ({header[file_col]!r})"
            if not name:
                raise DatasetError(f"{where}: the file name is empty")
            if name in row_of:
                first = line_of[row_of[name]]
                raise DatasetError(
                    f"{where}: {name!r} is named again (first on line {first}): "
                    "give each image one row"
                )
            if name not in image_names:
                raise DatasetError(
                    f"{where}: no image {name!r} in the folder (name images by their path "
                    f"inside it, e.g. {_example(image_names)!r})"
                )
            row_of[name] = len(line_of)
            line_of.append(line)
            for j, cell in enumerate(row):
                if j != file_col:  # the names are the keys of row_of
                    cells[j].append(cell)
    except csv.Error as exc:
        # Named by the line its record starts on: where an unclosed quote opens.
        raise DatasetError(f"{path}: line {next_start}: not valid CSV ({exc})") from None
    if header is None:
        raise DatasetError(
            f"{path} is empty: its first line must be a header naming the columns, one of "
            f"them {_listed(FILENAME_HEADERS)}"
        )
    columns = {key: _column(cells[j]) for j, key in enumerate(header) if j != file_col}
    return CsvMetadata(path=path, columns=columns, row_of=row_of)


def _read_utf8(path: Path) -> bytes:
    """The file's bytes, checked to be UTF-8; a byte that is not is reported by line and
    byte column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data.decode("utf-8")  # the whole text, once, only for the error's exact place
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DatasetError(
            f"{path}: line {line}, byte {column}: not UTF-8 text; save the CSV as UTF-8"
        ) from None
    return data


def _check_header(path: Path, header: list[str], line: int) -> int:
    """The index of the file name column; refuses nameless, repeated and built-in columns."""
    where = f"{path}: line {line}"
    seen: dict[str, int] = {}
    for j, key in enumerate(header):
        if not key:
            raise DatasetError(f"{where}, column {j + 1}: the column has no name")
        if key in seen:
            raise DatasetError(
                f"{where}, column {j + 1}: {key!r} is also column {seen[key] + 1}: "
                "column names must differ"
            )
        seen[key] = j
    named = [j for j, key in enumerate(header) if key.lower() in FILENAME_HEADERS]
    if not named:
        raise DatasetError(
            f"{where}: no file name column in the header ({', '.join(header)}): name the "
            f"column holding each image's path {_listed(FILENAME_HEADERS)}"
        )
    if len(named) > 1:
        raise DatasetError(
            f"{where}: two file name columns, {_listed([header[j] for j in named], 'and')} "
            f"(columns {named[0] + 1} and {named[1] + 1}): keep one, rename the other"
        )
    for j, key in enumerate(header):
        if j not in named and key.lower() in BUILT_IN_COLUMNS:
            raise DatasetError(
                f"{where}, column {j + 1}: {key!r} is a built-in column (the folder gives "
                f"every item {_listed(BUILT_IN_COLUMNS, 'and')}): rename it"
            )
    return named[0]


def _image_name(cell: str) -> str:
    """A file name cell as the folder names its images: posix, without a leading "./"."""
    while cell.startswith("./"):
        cell = cell[2:]
    return cell


def _column(values: list[str]) -> np.ndarray:
    """float64 when every non-empty value is a finite number and one is; unicode otherwise."""
    numbers: list[float] = []
    for value in values:
        number = _number(value)
        if number is None:
            return np.array(values, dtype=np.str_)
        numbers.append(number)
    if values and all(math.isnan(x) for x in numbers):
        return np.array(values, dtype=np.str_)  # nothing but blanks: no number to colour by
    return np.array(numbers, dtype=np.float64)


def _number(value: str) -> float | None:
    """The value as a float (NaN for an empty cell), or None when it is not a plain number."""
    if not value:
        return math.nan
    if "_" in value:  # float() reads "1_000"; a spreadsheet would not call that a number
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isinf(number) else number


def _example(names: Collection[str]) -> str:
    return min(names) if names else "image.png"


def _listed(words: Sequence[str], last: str = "or") -> str:
    quoted = [f'"{w}"' for w in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {last} {quoted[-1]}"

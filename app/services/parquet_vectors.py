"""Vectors and metadata from one Parquet file.

Where the vectors are:

- a column of lists of numbers (list, large list or fixed-size list of integers or floats):
  the only such column, or the one ``vector_column`` names when there are several; every
  other column is metadata;
- without a list column, every numeric column (integers, floats) is one dimension, in the
  file's column order, and the other columns (text, dates, booleans...) are metadata. Numeric
  metadata therefore needs the list layout (or a separate ``--metadata`` file); only the
  columns that name items (``name``, ``id``, ``item``, ``title``) and the image column are
  metadata whatever their type.

Metadata columns: numbers (decimals too) become float64 (null -> NaN), everything else text
(null -> ""). Text too, even when numeric: the columns that name items and integer columns
holding values past 2**53, which float64 cannot hold exactly (64-bit ids). Rows are counted
from 1 in messages (``emb.parquet row 17, column 'embedding'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.services.table_files import Table, is_name_column, n_values, text_column
from models.errors import DatasetError

if TYPE_CHECKING:
    import pyarrow as pa


def read_parquet(
    path: Path, vector_column: str | None, keep_text: frozenset[str] = frozenset()
) -> tuple[np.ndarray, Table]:
    """(N, D) float32 vectors and a table of the other columns; ``keep_text`` columns (and
    metadata columns that name items) are made text even when numeric."""
    import pyarrow as pa  # only an import that reads Parquet pays for pyarrow
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable Parquet file ({exc})") from None
    names = table.column_names
    for i, name in enumerate(names):
        if name in names[:i]:
            raise DatasetError(f"{path}: column name {name!r} appears more than once")
    if table.num_rows == 0:
        raise DatasetError(f"{path}: no rows")

    lists = [n for n in names if _is_number_list(table.schema.field(n).type)]
    if vector_column is not None:
        if vector_column not in names:
            raise DatasetError(
                f"{path}: --vector-column {vector_column!r} is not a column; columns are "
                f"{', '.join(names)}"
            )
        if vector_column not in lists:
            raise DatasetError(
                f"{path}, column {vector_column!r}: holds {table.schema.field(vector_column).type}"
                ", not lists of numbers (without --vector-column, a file with no list column "
                "takes every numeric column as a dimension)"
            )
        lists = [vector_column]
    if len(lists) > 1:
        raise DatasetError(
            f"{path}: several columns hold lists of numbers ({', '.join(lists)}): "
            "choose the vectors with --vector-column"
        )
    if lists:
        vectors = _list_vectors(path, table.column(lists[0]).combine_chunks(), lists[0])
        dims = lists
    else:
        dims = [
            n
            for n in names
            if _is_number(table.schema.field(n).type)
            and n not in keep_text
            and not is_name_column(n)
        ]
        if not dims:
            typed = ", ".join(f"{n} ({table.schema.field(n).type})" for n in names)
            raise DatasetError(
                f"{path}: no vectors: expected a column of lists of numbers, or numeric "
                f"columns; columns are {typed}"
            )
        vectors = _numeric_vectors(path, table, dims)

    own = Table(file=path, n_rows=table.num_rows)
    for name in names:
        if name not in dims:
            as_text = name in keep_text or is_name_column(name)
            own.columns[name] = _metadata_column(table.column(name), as_text)
    return vectors, own


def _is_number(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _is_number_list(kind: pa.DataType) -> bool:
    import pyarrow as pa

    listed = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    listed = listed or pa.types.is_fixed_size_list(kind)
    return bool(listed and _is_number(kind.value_type))


def _list_vectors(path: Path, column: pa.Array, name: str) -> np.ndarray:
    """(N, D) float32 from a list array, refusing null and ragged rows."""
    import pyarrow.compute as pc

    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DatasetError(f"{path} row {row + 1}, column {name!r}: no vector (null)")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)  # (N,)
    dim = int(lengths[0])
    if dim == 0:
        raise DatasetError(f"{path} row 1, column {name!r}: an empty list, vectors of 0 dimensions")
    ragged = np.flatnonzero(lengths != dim)
    if len(ragged):
        row = int(ragged[0])
        raise DatasetError(
            f"{path} row {row + 1}, column {name!r}: {n_values(int(lengths[row]))}, "
            f"expected {dim} (as in row 1)"
        )
    # flatten() honours offsets and slices; null elements come out as NaN, and numbers past
    # float32's range as inf: both refused later, naming their rows.
    with np.errstate(over="ignore"):
        values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    return values.reshape(len(lengths), dim)  # (N, D)


def _numeric_vectors(path: Path, table: pa.Table, dims: list[str]) -> np.ndarray:
    """(N, D) float32 from numeric columns, refusing nulls."""
    vectors = np.empty((table.num_rows, len(dims)), dtype=np.float32)
    for j, name in enumerate(dims):
        column = table.column(name)
        if column.null_count:
            nulls = column.is_null().to_numpy(zero_copy_only=False)
            row = int(np.flatnonzero(nulls)[0])
            raise DatasetError(f"{path} row {row + 1}, column {name!r}: missing value (null)")
        with np.errstate(over="ignore"):  # past float32's range: inf, refused later
            vectors[:, j] = column.to_numpy()
    return vectors


def _metadata_column(column: pa.ChunkedArray, as_text: bool) -> np.ndarray:
    """(N,) float64 for numbers (null -> NaN), unicode for everything else (null -> "")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if (_is_number(column.type) or pa.types.is_decimal(column.type)) and not as_text:
        try:
            return np.asarray(pc.cast(column, pa.float64()).to_numpy(), dtype=np.float64)
        except pa.ArrowInvalid:
            # Arrow's safe cast refuses integers past 2**53, which float64 would round
            # (64-bit ids): the whole column stays text, every digit kept.
            pass
    try:
        text = pc.cast(column, pa.string())
        values = ["" if v is None else v for v in text.to_pylist()]
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # Nested and other types without a string cast: their Python form, as text.
        values = ["" if v is None else str(v) for v in column.to_pylist()]
    return text_column(values)

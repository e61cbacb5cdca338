"""Bad embeddings files: one line naming the file, line or row and column; nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from app.services.embeddings import import_embeddings
from app.services.vector_files import VectorFiles, read_vector_files
from models.embeddings import MIN_EMBEDDING_ROWS
from models.errors import LatentExplorerError
from tests.services.vector_data import (
    listing,
    seeded_vectors,
    write_csv,
    write_lines,
    write_parquet,
    write_png,
    write_sprite,
    write_vectors_tsv,
)

Case = Callable[[Path], tuple[VectorFiles, str]]
FEW = MIN_EMBEDDING_ROWS  # enough vectors, so each case fails for its own reason


def tsv_pair(root: Path, n: int = FEW, d: int = 4) -> Path:
    return write_vectors_tsv(root / "vectors.tsv", seeded_vectors(n, d))


def ragged_tsv(root: Path) -> tuple[VectorFiles, str]:
    lines = ["\t".join(["0.5"] * 16)] * 20
    lines[16] = "\t".join(["0.5"] * 15)
    path = write_lines(root / "vectors.tsv", lines)
    return VectorFiles(path), f"{path} line 17: 15 values, expected 16 (as on line 1)"


def not_a_number(root: Path) -> tuple[VectorFiles, str]:
    path = write_lines(root / "vectors.tsv", ["1\t2\t3", "4\t5\tsix", "7\t8\t9"])
    return VectorFiles(path), f"{path} line 2, column 3: 'six' is not a number"


def spaces_not_tabs(root: Path) -> tuple[VectorFiles, str]:
    path = write_lines(root / "vectors.tsv", ["1\t2 3", "4\t5 6"])
    return VectorFiles(path), (
        f"{path} line 1, column 2: '2 3' is not a number (values are separated by tabs)"
    )


def nan_rows(root: Path) -> tuple[VectorFiles, str]:
    lines = ["1\t2"] * FEW
    for i in (1, 3, 4, 6, 8, 9, 10):
        lines[i] = "nan\t2" if i % 2 else "1\tinf"
    lines[11] = "1\t1e39"  # beyond float32
    path = write_lines(root / "vectors.tsv", lines)
    return VectorFiles(path), f"{path} lines 2, 4, 5, 7, 9 (and 3 more): NaN, infinite"


def empty_tsv(root: Path) -> tuple[VectorFiles, str]:
    path = root / "vectors.tsv"
    path.write_text("")
    return VectorFiles(path), f"{path}: empty file, expected one tab-separated vector per line"


def empty_line(root: Path) -> tuple[VectorFiles, str]:
    path = write_lines(root / "vectors.tsv", ["1\t2", "", "3\t4"])
    return VectorFiles(path), f"{path} line 2: empty line, expected 2 values"


def npy_1d(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.zeros(10, np.float32))
    return VectorFiles(root / "v.npy"), "array of shape (10,), expected 2-D (vectors, dimensions)"


def npy_3d(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.zeros((4, 3, 2), np.float32))
    return VectorFiles(root / "v.npy"), f"{root / 'v.npy'}: array of shape (4, 3, 2), expected 2-D"


def npy_no_dims(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.zeros((5, 0), np.float32))
    return VectorFiles(root / "v.npy"), "vectors of 0 dimensions (shape (5, 0))"


def npy_no_rows(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.zeros((0, 3), np.float32))
    return VectorFiles(root / "v.npy"), f"{root / 'v.npy'}: no vectors (shape (0, 3))"


def npy_pickled(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    return VectorFiles(root / "v.npy"), f"{root / 'v.npy'}: not a readable .npy array"


def npy_strings(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.array([["1", "2"]]))
    return VectorFiles(root / "v.npy"), "dtype <U1, expected floats or integers"


def npy_infinite(root: Path) -> tuple[VectorFiles, str]:
    vectors = seeded_vectors(FEW, 3)
    vectors[2, 1] = np.inf
    np.save(root / "v.npy", vectors)
    return VectorFiles(root / "v.npy"), f"{root / 'v.npy'} row 3: NaN, infinite"


def parquet_ragged(root: Path) -> tuple[VectorFiles, str]:
    rows = [[0.1, 0.2, 0.3]] * 5
    rows[3] = [0.1, 0.2]
    path = write_parquet(root / "e.parquet", {"embedding": rows})
    expected = f"{path} row 4, column 'embedding': 2 values, expected 3 (as in row 1)"
    return VectorFiles(path), expected


def parquet_null_vector(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"embedding": [[0.1, 0.2], None, [0.3, 0.4]]})
    return VectorFiles(path), f"{path} row 2, column 'embedding': no vector (null)"


def parquet_two_lists(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"a": [[1.0]], "b": [[2.0]]})
    return VectorFiles(path), "several columns hold lists of numbers (a, b): choose the vectors"


def parquet_null_number(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"x": [1.0, 2.0, 3.0], "y": [1.0, None, 3.0]})
    return VectorFiles(path), f"{path} row 2, column 'y': missing value (null)"


def parquet_only_text(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"word": ["a", "b"]})
    return VectorFiles(path), "no vectors: expected a column of lists of numbers, or numeric"


def parquet_unknown_column(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"v": pa.array([[1.0]], pa.list_(pa.float32()))})
    return VectorFiles(path, vector_column="emb"), "--vector-column 'emb' is not a column"


def length_mismatch(root: Path) -> tuple[VectorFiles, str]:
    vectors = write_vectors_tsv(root / "vectors.tsv", seeded_vectors(300, 2))
    meta = write_lines(root / "metadata.tsv", ["x"] * 299)
    return VectorFiles(vectors, metadata=meta), (
        f"{vectors} has 300 rows, {meta} has 299 data rows; expected one per vector"
    )


def single_column_with_header(root: Path) -> tuple[VectorFiles, str]:
    vectors = tsv_pair(root)
    meta = write_lines(root / "metadata.tsv", ["class"] + ["x"] * FEW)
    return VectorFiles(vectors, metadata=meta), "a single-column metadata.tsv has no header line"


def metadata_row_short(root: Path) -> tuple[VectorFiles, str]:
    vectors = tsv_pair(root)
    lines = ["name\tclass"] + [f"n{i}\tc" for i in range(FEW)]
    lines[4] = "n3"
    meta = write_lines(root / "metadata.tsv", lines)
    return VectorFiles(vectors, metadata=meta), f"{meta} line 5: 1 value, expected 2"


def csv_repeated_header(root: Path) -> tuple[VectorFiles, str]:
    meta = write_csv(root / "m.csv", ["name", "kind", "name"], [["a", "b", "c"]] * FEW)
    return VectorFiles(tsv_pair(root), metadata=meta), (
        f"{meta} line 1, column 3: column name 'name' repeats column 1"
    )


def csv_open_quote(root: Path) -> tuple[VectorFiles, str]:
    meta = root / "m.csv"
    meta.write_text('name\na\n"b\nc\n')
    return VectorFiles(tsv_pair(root), metadata=meta), f"{meta} line 3: unexpected end"


def metadata_not_utf8(root: Path) -> tuple[VectorFiles, str]:
    meta = root / "m.csv"
    meta.write_bytes(b"name\na\n\xff\n")
    return VectorFiles(tsv_pair(root), metadata=meta), f"{meta} line 3: not UTF-8 text"


def label_missing(root: Path) -> tuple[VectorFiles, str]:
    meta = write_csv(root / "m.csv", ["name", "kind"], [["a", "b"]] * FEW)
    return VectorFiles(tsv_pair(root), metadata=meta, label="class"), (
        f"--label 'class': no such metadata column in {meta}; columns are name, kind"
    )


def label_without_metadata(root: Path) -> tuple[VectorFiles, str]:
    return VectorFiles(tsv_pair(root), label="class"), (
        "--label 'class': there is no metadata to take it from: pass --metadata FILE"
    )


def image_column_missing(root: Path) -> tuple[VectorFiles, str]:
    meta = write_csv(root / "m.csv", ["name"], [["a"]] * FEW)
    return VectorFiles(tsv_pair(root), metadata=meta, image_column="file"), (
        f"--image-column 'file': no such metadata column in {meta}"
    )


def _image_rows(root: Path, broken: str) -> tuple[Path, Path]:
    for i in range(FEW):
        write_png(root / "imgs" / f"{i}.png", np.full((9, 9), 50, np.uint8))
    rows = [[f"n{i}", f"imgs/{i}.png"] for i in range(FEW)]
    rows[3][1] = broken
    return tsv_pair(root), write_csv(root / "m.csv", ["name", "file"], rows)


def image_path_missing(root: Path) -> tuple[VectorFiles, str]:
    vectors, meta = _image_rows(root, "imgs/nope.png")
    return VectorFiles(vectors, metadata=meta, image_column="file"), (
        f"{meta} line 5, column 2 ('file'): image {root / 'imgs/nope.png'} does not exist"
    )


def image_undecodable(root: Path) -> tuple[VectorFiles, str]:
    (root / "imgs").mkdir()
    (root / "imgs" / "bad.png").write_bytes(b"not a png")
    vectors, meta = _image_rows(root, "imgs/bad.png")
    return VectorFiles(vectors, metadata=meta, image_column="file"), (
        f"{meta} line 5, column 2 ('file'): image {root / 'imgs/bad.png'} cannot be decoded"
    )


def image_path_empty(root: Path) -> tuple[VectorFiles, str]:
    vectors, meta = _image_rows(root, "")
    return VectorFiles(vectors, metadata=meta, image_column="file"), (
        f"{meta} line 5, column 2 ('file'): no image path (empty value)"
    )


def image_size_too_big(root: Path) -> tuple[VectorFiles, str]:
    vectors, meta = _image_rows(root, "imgs/0.png")
    files = VectorFiles(vectors, metadata=meta, image_column="file", image_size=100)
    return files, "image size 100 px is out of range: allowed 8 to 64 px"


def sprite_too_small(root: Path) -> tuple[VectorFiles, str]:
    sprite = write_sprite(root / "s.png", np.zeros((16, 3), np.uint8), (10, 10))
    return VectorFiles(tsv_pair(root), sprite=sprite, sprite_size=(10, 10)), (
        f"{sprite}: 40x40 px holds 16 tiles of 10x10 px, too few for {FEW} vectors"
    )


def sprite_tiles_not_dividing(root: Path) -> tuple[VectorFiles, str]:
    sprite = write_sprite(root / "s.png", np.zeros((4, 3), np.uint8), (10, 10))
    return VectorFiles(tsv_pair(root), sprite=sprite, sprite_size=(8, 10)), (
        f"{sprite}: 20x20 px is not a whole number of 8x10 px tiles"
    )


def too_few_vectors(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", seeded_vectors(FEW - 1, 3))
    return VectorFiles(root / "v.npy"), (
        f"{root / 'v.npy'}: {FEW - 1} vectors, too few: at least {FEW} are needed"
    )


def too_few_parquet_rows(root: Path) -> tuple[VectorFiles, str]:
    path = write_parquet(root / "e.parquet", {"embedding": [[0.5, 1.0]] * 3})
    return VectorFiles(path), f"{path}: 3 vectors, too few: at least {FEW} are needed"


def one_dimension(root: Path) -> tuple[VectorFiles, str]:
    path = write_vectors_tsv(root / "vectors.tsv", seeded_vectors(30, 1))
    return VectorFiles(path), (
        f"{path}: vectors of 1 dimension, too few: at least 2 are needed (the maps have two axes)"
    )


def too_many_dimensions(root: Path) -> tuple[VectorFiles, str]:
    np.save(root / "v.npy", np.zeros((FEW, 4097), np.float32))
    return VectorFiles(root / "v.npy"), (
        f"{root / 'v.npy'}: vectors of 4097 dimensions, too many: at most 4096 are allowed"
    )


def unknown_suffix(root: Path) -> tuple[VectorFiles, str]:
    path = write_lines(root / "vectors.json", ["[1, 2]"])
    return VectorFiles(path), "unknown vectors file type '.json': expected .npy, .parquet or .tsv"


CASES: list[Case] = [
    ragged_tsv,
    not_a_number,
    spaces_not_tabs,
    nan_rows,
    empty_tsv,
    empty_line,
    npy_1d,
    npy_3d,
    npy_no_dims,
    npy_no_rows,
    npy_pickled,
    npy_strings,
    npy_infinite,
    parquet_ragged,
    parquet_null_vector,
    parquet_two_lists,
    parquet_null_number,
    parquet_only_text,
    parquet_unknown_column,
    length_mismatch,
    single_column_with_header,
    metadata_row_short,
    csv_repeated_header,
    csv_open_quote,
    metadata_not_utf8,
    label_missing,
    label_without_metadata,
    image_column_missing,
    image_path_missing,
    image_undecodable,
    image_path_empty,
    image_size_too_big,
    sprite_too_small,
    sprite_tiles_not_dividing,
    too_few_vectors,
    too_few_parquet_rows,
    one_dimension,
    too_many_dimensions,
    unknown_suffix,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_bad_files_name_the_place_and_write_nothing(tmp_path: Path, case: Case) -> None:
    data = tmp_path / "data"
    data.mkdir()
    files, expected = case(data)
    workspace = tmp_path / "ws"
    (workspace / "earlier").mkdir(parents=True)
    (workspace / "earlier" / "config.json").write_text("{}")
    before = listing(workspace)
    with pytest.raises(LatentExplorerError) as error:
        import_embeddings(read_vector_files(files), workspace, "entry")
    message = str(error.value)
    assert expected in message
    assert "\n" not in message
    assert listing(workspace) == before

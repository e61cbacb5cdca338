"""metadata.csv beside a folder of images: columns typed and aligned, bad files refused by line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.data import load_dataset
from models.data.csvmeta import read_metadata_csv
from models.errors import DatasetError


def _folder(root: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (10, 10), 20 * i).save(root / name)


def test_csv_columns_become_typed_metadata_in_item_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _folder(tmp_path, ["cats/a.png", "cats/b.png", "dogs/c.png", "dogs/d.png"])
    # A byte-order mark, Windows line ends, a quoted comma, a blank line, rows out of order,
    # "./" before a name, an empty number, "nan", and dogs/d.png without a row.
    text = (
        "\ufeffnote,File,age,smiling,score\r\n"
        '"sits, then naps",dogs/c.png,7,yes,nan\r\n'
        "\r\n"
        "first, ./cats/a.png , 2.5 ,no,1e3\r\n"
        ",cats/b.png,,yes,-2\r\n"
    )
    (tmp_path / "metadata.csv").write_bytes(text.encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="models.data.folder"):
        data = load_dataset(f"folder:{tmp_path}", image_size=8)

    assert list(data.metadata) == ["class", "file", "note", "age", "smiling", "score"]
    assert list(data.item_names) == ["cats/a.png", "cats/b.png", "dogs/c.png", "dogs/d.png"]
    age, score = data.metadata["age"], data.metadata["score"]
    assert age.dtype == np.float64 and score.dtype == np.float64
    np.testing.assert_array_equal(age, [2.5, np.nan, 7.0, np.nan])
    np.testing.assert_array_equal(score, [1000.0, -2.0, np.nan, np.nan])
    assert data.metadata["smiling"].dtype.kind == "U"
    assert data.metadata["smiling"].tolist() == ["no", "yes", "yes", ""]
    assert data.metadata["note"].tolist() == ["first", "", "sits, then naps", ""]
    assert data.metadata["class"].tolist() == ["cats", "cats", "dogs", "dogs"]
    assert data.labels is not None and data.labels.tolist() == [0, 0, 1, 1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no row for 1 of the 4 images" in warnings[0]
    assert str(tmp_path / "metadata.csv") in warnings[0]


def test_a_column_with_any_word_is_text_and_a_subset_takes_its_own_rows(tmp_path: Path) -> None:
    _folder(tmp_path, [f"{i}.png" for i in range(6)])
    rows = ["image,size,blank"] + [f"{i}.png,{'big' if i == 4 else i},  " for i in range(6)]
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    full = load_dataset(f"folder:{tmp_path}", image_size=8)
    assert full.metadata["size"].tolist() == ["0", "1", "2", "3", "big", "5"]
    assert full.metadata["blank"].tolist() == [""] * 6  # no number anywhere: text
    part = load_dataset(f"folder:{tmp_path}", image_size=8, size=3, seed=2)
    by_name = dict(zip(full.item_names.tolist(), full.metadata["size"].tolist(), strict=True))
    assert part.metadata["size"].tolist() == [by_name[n] for n in part.item_names.tolist()]


BAD_CSV = [
    ("file,x\na.png,1\nzzz.png,2\n", "line 3, column 1 ('file'): no image 'zzz.png' in the folder"),
    ("file,x\na.png,1\nb.png,2\n./a.png,3\n", "line 4, column 1 ('file'): 'a.png' is named again "
     "(first on line 2)"),
    ("name,x\na.png,1\n", "line 1: no file name column in the header (name, x)"),
    ("file,x,y\na.png,1,2\nb.png,3\n", "line 3 has 2 cells but the header (line 1) has 3 columns"),
    ("file,class\na.png,cat\n", "line 1, column 2: 'class' is a built-in column"),
    ("path,File\na.png,a.png\n", 'line 1: two file name columns, "path" and "File"'),
    ("file,x,x\n", "line 1, column 3: 'x' is also column 2"),
    ("file,,x\n", "line 1, column 2: the column has no name"),
    ("file,x\n,1\n", "line 2, column 1 ('file'): the file name is empty"),
    ("\n\n", "metadata.csv is empty: its first line must be a header"),
    ('file,x\na.png,"unclosed\n', "not valid CSV"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_CSV)
def test_bad_csv_is_one_line_naming_the_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    _folder(tmp_path, ["a.png", "b.png"])
    csv_path = tmp_path / "metadata.csv"
    csv_path.write_text(text)
    with pytest.raises(DatasetError) as caught:
        load_dataset(f"folder:{tmp_path}", image_size=8)
    error = str(caught.value)
    assert message in error and str(csv_path) in error and "\n" not in error


def test_a_stray_quote_is_refused_with_its_line(tmp_path: Path) -> None:
    _folder(tmp_path, ["a.png"])
    (tmp_path / "metadata.csv").write_text('file,x\na.png,"big" cat\n')
    with pytest.raises(DatasetError, match=r"metadata.csv: line 2: not valid CSV \(',' expected"):
        load_dataset(f"folder:{tmp_path}", image_size=8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a note over three lines (2-4), then a row on line 5 naming no image of the folder
        ('file,note\na.png,"one\ntwo\nthree"\nzzz.png,x\n', "line 5, column 1 ('file'): no image"),
        # a row over lines 2-3 naming no image of the folder
        ('file,note\nzzz.png,"one\ntwo"\n', "line 2, column 1 ('file'): no image 'zzz.png'"),
        # the first row spans lines 2-3; its name again on line 4
        ('file,note\na.png,"a\nb"\na.png,c\n', "'a.png' is named again (first on line 2)"),
        # a row of too few cells whose quoted cell spans lines 3-4
        ('file,x,y\na.png,1,2\n"b.png\n",3\n', "line 3 has 2 cells"),
        # a quote opened on line 3 and never closed: the error names where it opens
        ('file,x\na.png,1\nb.png,"open\nmore\nstill\n', "line 3: not valid CSV"),
    ],
)
def test_lines_are_where_a_record_starts_when_a_quoted_cell_spans_lines(
    tmp_path: Path, text: str, message: str
) -> None:
    _folder(tmp_path, ["a.png", "b.png"])
    (tmp_path / "metadata.csv").write_text(text)
    with pytest.raises(DatasetError) as caught:
        load_dataset(f"folder:{tmp_path}", image_size=8)
    assert message in str(caught.value)


def test_text_that_is_not_utf8_is_refused_by_line_and_byte(tmp_path: Path) -> None:
    _folder(tmp_path, ["a.png"])
    (tmp_path / "metadata.csv").write_bytes("file,city\na.png,Köln\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"metadata.csv: line 2, byte 8: not UTF-8 text"):
        load_dataset(f"folder:{tmp_path}", image_size=8)


def test_rows_align_by_name_and_unknown_items_get_blanks(tmp_path: Path) -> None:
    path = tmp_path / "metadata.csv"
    path.write_text("x,filename,tag\n1,b.png,p\n2,a.png,q\n")
    meta = read_metadata_csv(path, {"a.png", "b.png", "c.png"})
    assert meta.row_of == {"b.png": 0, "a.png": 1}
    columns, missing = meta.for_items(["a.png", "c.png", "b.png"])
    assert missing == 1
    np.testing.assert_array_equal(columns["x"], [2.0, np.nan, 1.0])
    assert columns["tag"].tolist() == ["q", "", "p"]

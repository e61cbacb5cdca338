"""Embeddings read from files and imported: .npy, .parquet, projector TSV, CSV metadata, image
columns and sprites, written here and loaded back the way the server loads a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from app.services.embeddings import import_embeddings
from app.services.loaded import LoadedModel, ModelStore
from app.services.table_files import read_metadata, typed_column
from app.services.vector_files import VectorFiles, default_name, read_vector_files
from models.embeddings import MIN_EMBEDDING_ROWS
from models.errors import DatasetError
from tests.services.vector_data import (
    seeded_vectors,
    write_csv,
    write_lines,
    write_parquet,
    write_png,
    write_sprite,
    write_vectors_tsv,
)

N, D = 48, 8  # small: every entry fits UMAP, and only the first fit pays numba's compile
FEW = MIN_EMBEDDING_ROWS  # the fewest vectors an import takes, for tests that build no index
IMAGE_SIZE = 16
KINDS = ["cat", "dog", "eel"]


@dataclass
class Entry:
    vectors: np.ndarray
    loaded: LoadedModel


def _entries(root: Path) -> dict[str, VectorFiles]:
    """Five entries, one per way in; their files under ``root``."""
    v = {name: seeded_vectors(N, D, seed) for seed, name in enumerate(ENTRY_NAMES)}
    # .npy + metadata.csv with an image column (grey PNGs, paths relative to the CSV)
    data = root / "npy"
    data.mkdir()
    np.save(data / "vectors.npy", v["npy-images"])
    for i in range(N):
        write_png(data / "imgs" / f"{i:03}.png", np.full((20, 24), i * 5, np.uint8))
    rows = [[f"imgs/{i:03}.png", f"item-{i}", "" if i == 3 else f"{i * 0.25}"] for i in range(N)]
    write_csv(data / "meta.csv", ["file", "name", "weight"], rows)
    # .parquet with a list column and metadata of several types
    write_parquet(
        root / "list.parquet",
        {
            "embedding": pa.array(v["parquet-list"].tolist(), pa.list_(pa.float32())),
            "id": pa.array(range(100, 100 + N), pa.int64()),
            "kind": [KINDS[i % 3] for i in range(N)],
            "score": [None if i == 2 else i / 2 for i in range(N)],
            "seen": [i % 2 == 0 for i in range(N)],
            "note": [None if i == 5 else f"n{i}" for i in range(N)],
        },
    )
    # .parquet with one numeric column per dimension
    columns: dict[str, object] = {f"d{j}": v["parquet-columns"][:, j] for j in range(D)}
    write_parquet(root / "columns.parquet", columns | {"word": [f"w{i}" for i in range(N)]})
    # projector pair, single-column metadata (no header) and a colour sprite of 10x12 tiles
    write_vectors_tsv(root / "vectors.tsv", v["tsv-sprite"])
    write_lines(root / "labels.tsv", ["even" if i % 2 == 0 else "odd" for i in range(N)])
    write_sprite(root / "sprite.png", SPRITE_COLOURS, (10, 12))
    # projector pair, several metadata columns (header line), one numeric with a gap
    write_vectors_tsv(root / "multi.tsv", v["tsv-multi"])
    meta = ["title\tclass\tsize"] + [
        f"t{i}\t{KINDS[i % 3]}\t{'' if i == 4 else i}" for i in range(N)
    ]
    write_lines(root / "multi-meta.tsv", meta)
    return {
        "npy-images": VectorFiles(
            data / "vectors.npy",
            metadata=data / "meta.csv",
            image_column="file",
            image_size=IMAGE_SIZE,
        ),
        "parquet-list": VectorFiles(root / "list.parquet", label="kind"),
        "parquet-columns": VectorFiles(root / "columns.parquet"),
        "tsv-sprite": VectorFiles(
            root / "vectors.tsv",
            metadata=root / "labels.tsv",
            label="label",
            sprite=root / "sprite.png",
            sprite_size=(10, 12),
            image_size=IMAGE_SIZE,
        ),
        # 47 distinct whole numbers would make "size" a category: it is said to be numeric
        "tsv-multi": VectorFiles(
            root / "multi.tsv", metadata=root / "multi-meta.tsv", label="class", numeric=("size",)
        ),
    }


ENTRY_NAMES = ("npy-images", "parquet-list", "parquet-columns", "tsv-sprite", "tsv-multi")
SPRITE_COLOURS = np.array([[(i * 5) % 256, 255 - i * 5, 90] for i in range(N)], np.uint8)


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Entry]:
    root = tmp_path_factory.mktemp("vector-files")
    workspace = root / "ws"
    expected = {}
    for name, files in _entries(root).items():
        request = read_vector_files(files)
        expected[name] = request.source.vectors.copy()
        import_embeddings(request, workspace, name)
    store = ModelStore.load(workspace, torch.device("cpu"))
    assert store.failed == {}
    return {name: Entry(expected[name], store.get(name)) for name in ENTRY_NAMES}


def test_npy_with_csv_metadata_and_an_image_column(entries: dict[str, Entry]) -> None:
    entry = entries["npy-images"]
    index = entry.loaded.index
    np.testing.assert_array_equal(index.latents, seeded_vectors(N, D, 0))
    assert list(index.metadata) == ["file", "name", "weight"]
    assert index.metadata["file"][7] == "imgs/007.png"
    weight = index.metadata["weight"]
    assert weight.dtype == np.float64 and np.isnan(weight[3]) and weight[8] == 2.0
    assert index.item_names[:2].tolist() == ["item-0", "item-1"]
    assert index.labels is None and index.label_field is None
    assert index.images is not None and index.images.shape == (N, 1, IMAGE_SIZE, IMAGE_SIZE)
    # each PNG was one flat grey level: cropping and resizing keep it
    levels = index.images.reshape(N, -1).astype(int)
    assert np.abs(levels - (np.arange(N) * 5)[:, None]).max() <= 1
    assert entry.loaded.image_shape == (1, IMAGE_SIZE, IMAGE_SIZE)
    assert not entry.loaded.can_encode and not entry.loaded.can_decode


def test_parquet_list_column_and_typed_metadata(entries: dict[str, Entry]) -> None:
    index = entries["parquet-list"].loaded.index
    np.testing.assert_array_equal(index.latents, seeded_vectors(N, D, 1))
    assert list(index.metadata) == ["id", "kind", "score", "seen", "note"]
    meta = index.metadata
    assert meta["id"].dtype.kind == "U" and meta["id"][0] == "100"  # names are text
    assert meta["score"].dtype == np.float64 and np.isnan(meta["score"][2])
    assert meta["seen"][:2].tolist() == ["true", "false"]  # booleans are categories
    assert meta["note"][5] == "" and meta["note"][6] == "n6"
    assert index.item_names[:3].tolist() == ["100", "101", "102"]  # from the "id" column
    assert index.label_field == "kind" and index.label_names == tuple(KINDS)
    assert index.labels is not None and index.labels[:4].tolist() == [0, 1, 2, 0]
    assert index.images is None


def test_parquet_numeric_columns_are_the_dimensions(entries: dict[str, Entry]) -> None:
    index = entries["parquet-columns"].loaded.index
    np.testing.assert_array_equal(index.latents, seeded_vectors(N, D, 2))
    assert list(index.metadata) == ["word"] and index.metadata["word"][4] == "w4"
    assert index.item_names[:2].tolist() == ["row 1", "row 2"]


def test_projector_tsv_with_single_column_metadata_and_sprite(
    entries: dict[str, Entry],
) -> None:
    index = entries["tsv-sprite"].loaded.index
    np.testing.assert_array_equal(index.latents, seeded_vectors(N, D, 3))
    assert list(index.metadata) == ["label"]
    assert index.label_names == ("even", "odd") and index.labels is not None
    assert index.labels[:3].tolist() == [0, 1, 0]
    assert index.images is not None and index.images.shape == (N, 3, IMAGE_SIZE, IMAGE_SIZE)
    # every tile was one colour: item i shows colour i everywhere (10x12 cropped to a square)
    pixels = index.images.transpose(0, 2, 3, 1).reshape(N, -1, 3).astype(int)  # (N, S*S, 3)
    assert np.abs(pixels - SPRITE_COLOURS[:, None].astype(int)).max() <= 1


def test_projector_tsv_with_a_header_line(entries: dict[str, Entry]) -> None:
    index = entries["tsv-multi"].loaded.index
    np.testing.assert_array_equal(index.latents, seeded_vectors(N, D, 4))
    assert list(index.metadata) == ["title", "class", "size"]
    assert index.metadata["size"].dtype == np.float64 and np.isnan(index.metadata["size"][4])
    assert index.item_names[5] == "t5" and index.label_names == tuple(KINDS)


@pytest.mark.parametrize("name", ENTRY_NAMES)
def test_entry_has_projections_and_exact_neighbours(entries: dict[str, Entry], name: str) -> None:
    entry = entries[name]
    index = entry.loaded.index
    assert set(index.projections) == {"pca", "umap", "tsne"}
    assert index.projections["umap"].embedding_.shape == (N, 2)
    query = entry.vectors[7]
    found, distances = entry.loaded.neighbor_index("euclidean").query(query, 6)
    brute = np.linalg.norm(entry.vectors.astype(np.float64) - query, axis=1)  # (N,)
    np.testing.assert_array_equal(found[0], np.argsort(brute, kind="stable")[:6])
    np.testing.assert_allclose(distances[0], np.sort(brute)[:6], rtol=1e-5, atol=1e-5)


def test_integer_npy_is_cast_and_names_fall_back_to_rows(tmp_path: Path) -> None:
    np.save(tmp_path / "ints.npy", np.arange(FEW * 3, dtype=np.int16).reshape(FEW, 3))
    request = read_vector_files(VectorFiles(tmp_path / "ints.npy"))
    vectors = request.source.vectors
    assert vectors.dtype == np.float32 and vectors[3].tolist() == [9.0, 10.0, 11.0]
    assert request.source.item_names.tolist() == [f"row {i + 1}" for i in range(FEW)]
    assert request.source.metadata == {} and request.source.images is None


def test_parquet_vector_column_chooses_among_list_columns(tmp_path: Path) -> None:
    a, b = seeded_vectors(FEW, 3, 0), seeded_vectors(FEW, 4, 1)
    path = write_parquet(
        tmp_path / "two.parquet",
        {
            "a": pa.array(a.tolist(), pa.list_(pa.float32(), 3)),  # fixed-size lists
            "b": pa.array(b.tolist(), pa.large_list(pa.float64())),
        },
    )
    chosen = read_vector_files(VectorFiles(path, vector_column="b")).source
    np.testing.assert_array_equal(chosen.vectors, b)
    assert list(chosen.metadata) == ["a"] and chosen.metadata["a"].dtype.kind == "U"
    only_a = read_vector_files(VectorFiles(path, vector_column="a")).source
    np.testing.assert_array_equal(only_a.vectors, a)


def test_metadata_typing_and_csv_lines_counted_across_quoted_newlines(tmp_path: Path) -> None:
    np.testing.assert_array_equal(typed_column(["1", "", " 2.5e1 "]), [1.0, np.nan, 25.0])
    assert typed_column(["1", "x"]).tolist() == ["1", "x"]
    assert typed_column(["", ""]).tolist() == ["", ""]
    assert typed_column(["1_000"]).dtype.kind == "U"  # float() would take it, we do not
    path = tmp_path / "m.csv"
    path.write_text('name,text\na,"two\nlines"\nb,x\nc\n')
    with pytest.raises(DatasetError) as error:
        read_metadata(path)
    # the record of "c" starts on the file's line 5, not on the fourth record
    assert str(error.value) == (
        f"{path} line 5: 1 value, expected 2 (one per column of the header on line 1)"
    )
    path.write_text('name,text\na,"two\nlines"\nb,x\n')
    table = read_metadata(path)
    assert table.lines is not None and table.lines.tolist() == [2, 4]
    assert table.at(1, "text") == f"{path} line 4, column 2 ('text')"


def test_default_name_is_the_vectors_file_stem_made_safe() -> None:
    assert default_name(Path("/x/my vectors (v2).tsv")) == "my-vectors-v2"
    assert default_name(Path("/x/.npy")) == "npy"
    assert default_name(Path("/x/+++.npy")) == "embeddings"


def test_sprite_rows_follow_the_sheet_width(tmp_path: Path) -> None:
    # 21 items on a sheet 5 tiles wide (the usual ceil(sqrt(21)) = 5), read left to right
    colours = np.array([[i * 10, 0, 0] for i in range(FEW)], np.uint8)
    write_sprite(tmp_path / "s.png", colours, (8, 8))
    np.save(tmp_path / "v.npy", seeded_vectors(FEW, 2))
    files = VectorFiles(
        tmp_path / "v.npy", sprite=tmp_path / "s.png", sprite_size=(8, 8), image_size=8
    )
    images = read_vector_files(files).source.images
    assert images is not None and images.shape == (FEW, 3, 8, 8)
    assert images[:, 0, 4, 4].tolist() == [i * 10 for i in range(FEW)]


def test_image_paths_that_look_like_numbers_stay_paths(tmp_path: Path) -> None:
    # files called "0", "1", "2"... beside the CSV: typed as numbers they would become "0.0"
    for i in range(FEW):
        write_png(tmp_path / str(i), np.full((8, 8, 3), (i * 10, 0, 200), np.uint8))
    write_csv(tmp_path / "m.csv", ["picture"], [[str(i)] for i in range(FEW)])
    np.save(tmp_path / "v.npy", seeded_vectors(FEW, 2))
    source = read_vector_files(
        VectorFiles(tmp_path / "v.npy", tmp_path / "m.csv", image_column="picture", image_size=8)
    ).source
    assert source.metadata["picture"].tolist() == [str(i) for i in range(FEW)]
    assert source.images is not None
    assert source.images[:, :, 3, 3].tolist() == [[i * 10, 0, 200] for i in range(FEW)]


def test_parquet_image_column_is_relative_to_the_parquet_file(tmp_path: Path) -> None:
    for i in range(FEW):
        write_png(tmp_path / "imgs" / f"{i}.png", np.full((12, 12), i * 10, np.uint8))
    path = write_parquet(
        tmp_path / "e.parquet",
        {
            "embedding": pa.array(seeded_vectors(FEW, 3).tolist(), pa.list_(pa.float32())),
            "image": [f"imgs/{i}.png" for i in range(FEW)],
        },
    )
    source = read_vector_files(VectorFiles(path, image_column="image", image_size=8)).source
    assert source.images is not None and source.images.shape == (FEW, 1, 8, 8)
    assert source.images[:, 0, 0, 0].tolist() == [i * 10 for i in range(FEW)]


def test_name_columns_are_text_in_csv_tsv_and_parquet(tmp_path: Path) -> None:
    # "007" typed as a number became "7"; a 20-digit id lost its last digits in a float64
    names = ["007", "12345678901234567890"] + [f"{i:03}" for i in range(2, FEW)]
    vectors = seeded_vectors(FEW, 3)
    np.save(tmp_path / "v.npy", vectors)
    # sizes with a fraction: whole numbers this few would be a category (column_kinds)
    write_csv(tmp_path / "m.csv", ["ID", "size"], [[n, f"{i}.5"] for i, n in enumerate(names)])
    csv_source = read_vector_files(VectorFiles(tmp_path / "v.npy", tmp_path / "m.csv")).source
    assert csv_source.metadata["ID"].tolist() == names
    assert csv_source.metadata["size"].dtype == np.float64  # other columns are still typed
    assert csv_source.item_names.tolist() == names

    write_vectors_tsv(tmp_path / "v.tsv", vectors)
    write_lines(tmp_path / "m.tsv", ["title\tsize"] + [f"{n}\t{i}" for i, n in enumerate(names)])
    tsv_source = read_vector_files(VectorFiles(tmp_path / "v.tsv", tmp_path / "m.tsv")).source
    assert tsv_source.metadata["title"].tolist() == names
    assert tsv_source.item_names.tolist() == names

    embedding = pa.array(vectors.tolist(), pa.list_(pa.float32()))
    listed = write_parquet(
        tmp_path / "l.parquet",
        {"embedding": embedding, "Item": pa.array(range(7, 7 + FEW), pa.int64())},
    )
    meta = read_vector_files(VectorFiles(listed)).source.metadata
    assert meta["Item"].dtype.kind == "U" and meta["Item"][:2].tolist() == ["7", "8"]
    # one column per dimension: an integer "id" column names the items, it is no dimension
    columns: dict[str, object] = {f"d{j}": vectors[:, j] for j in range(3)}
    per_column = write_parquet(tmp_path / "c.parquet", columns | {"id": list(range(FEW))})
    source = read_vector_files(VectorFiles(per_column)).source
    np.testing.assert_array_equal(source.vectors, vectors)
    assert source.item_names[:3].tolist() == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (["Title", "item", "ID", "Name", "name"], "Name"),  # of names equal but for case: first
        (["Title", "item", "ID"], "ID"),  # id before item, wherever they stand
        (["Title", "other", "item"], "item"),
        (["other", "title"], "title"),
        (["other", "label"], None),  # row numbers
    ],
)
def test_the_name_column_is_name_then_id_then_item_then_title(
    tmp_path: Path, header: list[str], chosen: str | None
) -> None:
    np.save(tmp_path / "v.npy", seeded_vectors(FEW, 2))
    rows = [[f"{column}-{i}" for column in header] for i in range(FEW)]
    rows[4] = [" " for _ in header]  # an empty name falls back to the row
    write_csv(tmp_path / "m.csv", header, rows)
    names = read_vector_files(VectorFiles(tmp_path / "v.npy", tmp_path / "m.csv")).source
    expected = [f"{chosen}-{i}" if chosen else f"row {i + 1}" for i in range(FEW)]
    expected[4] = "row 5"
    assert names.item_names.tolist() == expected


def test_parquet_integers_past_2_to_the_53_stay_text_with_every_digit(tmp_path: Path) -> None:
    # 64-bit ids: Arrow refuses to round them into float64 (it raised ArrowInvalid)
    signed = [2**63 - 1 - i for i in range(FEW - 1)] + [None]
    unsigned = [2**64 - 1 - i for i in range(FEW)]
    path = write_parquet(
        tmp_path / "e.parquet",
        {
            "embedding": pa.array(seeded_vectors(FEW, 3).tolist(), pa.list_(pa.float32())),
            "user": pa.array(signed, pa.int64()),
            "account": pa.array(unsigned, pa.uint64()),
            "edge": pa.array([2**53] * FEW, pa.int64()),  # still exact in float64
            "count": pa.array(range(FEW), pa.int64()),
        },
    )
    meta = read_vector_files(VectorFiles(path)).source.metadata
    assert meta["user"].tolist() == [str(v) for v in signed[:-1]] + [""]
    assert meta["account"].tolist() == [str(v) for v in unsigned]
    assert meta["edge"].dtype == np.float64 and meta["edge"][0] == 2.0**53
    assert meta["count"].dtype == np.float64 and meta["count"][5] == 5.0

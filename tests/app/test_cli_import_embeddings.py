"""``latent-explorer import-embeddings``: files in, a workspace entry out; bad files give one
``error:`` line, exit status 2 and an untouched workspace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from tests.services.vector_data import (
    listing,
    seeded_vectors,
    write_lines,
    write_sprite,
    write_vectors_tsv,
)

N = 30


@pytest.fixture
def projector_files(tmp_path: Path) -> Path:
    """vectors.tsv, metadata.tsv (header, two columns) and a grey sprite of 8x8 tiles."""
    data = tmp_path / "data"
    data.mkdir()
    write_vectors_tsv(data / "vectors.tsv", seeded_vectors(N, 5))
    write_lines(data / "metadata.tsv", ["name\tdigit"] + [f"p{i}\t{i % 3}" for i in range(N)])
    grey = np.repeat(np.arange(N, dtype=np.uint8)[:, None] * 8, 3, axis=1)  # (N, 3), R=G=B
    write_sprite(data / "sprite.png", grey, (8, 8))
    return data


def test_import_writes_an_entry_that_info_lists(
    projector_files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    data = projector_files
    args = [
        "import-embeddings",
        "--vectors", str(data / "vectors.tsv"),
        "--metadata", str(data / "metadata.tsv"),
        "--label", "digit",
        "--sprite", str(data / "sprite.png"),
        "--sprite-size", "8", "8",
        "--image-size", "8",
        "--workspace", str(ws),
    ]  # fmt: skip
    assert main(args) == 0
    folder = ws / "vectors"  # the default name: the vectors file's stem
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "index", "source"]
    assert np.load(folder / "source" / "images.npy").shape == (N, 1, 8, 8)  # grey sprite
    capsys.readouterr()
    assert main(["info", "--json", "--workspace", str(ws)]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["name"] == "vectors" and entry["architecture"] == "embeddings"
    dataset = entry["dataset"]
    assert dataset["n_items"] == N and dataset["format"] == "tsv"
    assert dataset["label_field"] == "digit" and dataset["label_names"] == ["0", "1", "2"]
    assert dataset["metadata_fields"] == ["name", "digit"] and dataset["has_images"]
    assert set(entry["quality"]["trustworthiness"]) == {"pca", "umap", "tsne"}

    # the same name again: refused unless --force, and the entry is left as it was
    before = listing(ws)
    assert main(args) == 2
    assert "already exists: choose another --name or pass --force" in capsys.readouterr().err
    assert listing(ws) == before
    assert main([*args[:-2], "--name", "again", "--workspace", str(ws)]) == 0
    assert sorted(p.name for p in ws.iterdir()) == ["again", "vectors"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--label", "class"], "--label 'class': no such metadata column in {data}/metadata.tsv"),
        (["--image-column", "file"], "--image-column 'file': no such metadata column"),
        (["--sprite", "{data}/sprite.png"], "--sprite and --sprite-size W H go together"),
        (["--vector-column", "v"], "--vector-column applies to .parquet vectors only"),
        (["--name", "../up"], "invalid model name '../up'"),
        (
            ["--sprite", "{data}/sprite.png", "--sprite-size", "7", "8"],
            "{data}/sprite.png: 48x48 px is not a whole number of 7x8 px tiles",
        ),
    ],
)
def test_bad_options_are_one_error_line_and_nothing_written(
    projector_files: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    expected: str,
) -> None:
    data = projector_files
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("mine")
    args = [
        "import-embeddings",
        "--vectors", str(data / "vectors.tsv"),
        "--metadata", str(data / "metadata.tsv"),
        "--workspace", str(ws),
        *(a.format(data=data) for a in extra),
    ]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert expected.format(data=data) in err
    assert listing(ws) == ["notes.txt"]


def test_bad_vectors_file_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "vectors.tsv", ["1\t2\t3", "4\t5", "6\t7\t8"])
    ws = tmp_path / "ws"
    assert main(["import-embeddings", "--vectors", str(path), "--workspace", str(ws)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path} line 2: 2 values, expected 3 (as on line 1)"
    assert not ws.exists()


def test_image_column_and_sprite_exclude_each_other(
    projector_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import-embeddings", "--vectors", str(projector_files / "vectors.tsv")]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--image-column", "f", "--sprite", "s.png", "--sprite-size", "8", "8"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((5, 3), "5 vectors, too few: at least 21 are needed to draw the maps and measure them"),
        (
            (30, 1),
            "vectors of 1 dimension, too few: at least 2 are needed (the maps have two axes)",
        ),
    ],
)
def test_vectors_too_few_to_index_are_one_error_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: tuple[int, int], expected: str
) -> None:
    # Before: a traceback-free but baffling "n_neighbors must be an integer from 2 to 4 ... got
    # 15" (or "PCA needs Z with at least 2 rows and 2 columns") after reading everything.
    path = write_vectors_tsv(tmp_path / "vectors.tsv", seeded_vectors(*shape))
    ws = tmp_path / "ws"
    assert main(["import-embeddings", "--vectors", str(path), "--workspace", str(ws)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: {expected}"
    assert not ws.exists()

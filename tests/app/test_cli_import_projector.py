"""``import-embeddings`` with the Embedding Projector's own forms, as its users bring them:
a one-column metadata.tsv of digits (the MNIST demo), a header and numeric columns ending with
an empty line (the Iris demo), and the standalone ``projector_config.json`` listing raw
float32 ``.bytes`` tensors. Small files made here, in the demos' shapes."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.config import Settings
from app.index.build import IndexParams
from app.index.store import LatentIndex, load_index
from app.main import create_app
from app.workspace import INDEX_DIR
from tests.services.vector_data import (
    listing,
    seeded_vectors,
    write_lines,
    write_sprite,
    write_vectors_tsv,
)

N, D = 60, 5
SPECIES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(autouse=True)
def pca_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # UMAP's first fit compiles numba for ~30 s on 2 cores; these tests are about reading the
    # Projector's files (tests/index covers UMAP). The store uses the same params, so the
    # served index is not rebuilt.
    params = functools.partial(IndexParams, projections=("pca",))
    monkeypatch.setattr("app.services.embeddings.IndexParams", params)
    monkeypatch.setattr("app.services.loaded.IndexParams", params)


def imported(ws: Path, name: str) -> tuple[dict[str, Any], LatentIndex]:
    """(the entry's config.json, its index) as written."""
    config = json.loads((ws / name / "config.json").read_text())
    return config, load_index(ws / name / INDEX_DIR)


@pytest.fixture
def served() -> Iterator[Any]:
    """served(workspace) -> a client of an app serving it (closed after the test)."""
    clients: list[TestClient] = []

    def serve(ws: Path) -> TestClient:
        client = TestClient(create_app(Settings(workspace=ws, device="cpu", threads=1)))
        clients.append(client.__enter__())
        return client

    yield serve
    for client in clients:
        client.__exit__(None, None, None)


def test_a_one_column_metadata_of_digits_is_the_label_with_classes(
    tmp_path: Path, served: Any
) -> None:
    # The MNIST demo: the digit column became a continuous number (no classes, no kNN figure)
    write_vectors_tsv(tmp_path / "vectors.tsv", seeded_vectors(N, D))
    write_lines(tmp_path / "metadata.tsv", [str(i % 10) for i in range(N)])
    ws = tmp_path / "ws"
    args = ["import-embeddings", "--vectors", str(tmp_path / "vectors.tsv")]
    assert main([*args, "--metadata", str(tmp_path / "metadata.tsv"), "--workspace", str(ws)]) == 0
    config, index = imported(ws, "vectors")
    assert config["dataset"]["label_field"] == "label"
    assert config["dataset"]["label_names"] == [str(d) for d in range(10)]  # number order
    assert index.labels is not None and index.labels.tolist() == [i % 10 for i in range(N)]
    assert "knn_accuracy" in index.quality
    model = served(ws).get("/api/models/vectors").json()
    assert model["label_field"] == "label" and model["metadata_fields"] == {"label": "category"}
    # GET /api/models names the files, not where they sit on the server (config.json does)
    assert model["dataset"]["files"] == {"vectors": "vectors.tsv", "metadata": "metadata.tsv"}
    assert config["dataset"]["files"]["vectors"] == str((tmp_path / "vectors.tsv").resolve())
    listed = served(ws).get("/api/models").json()["models"][0]["dataset"]["files"]
    assert listed == {"vectors": "vectors.tsv", "metadata": "metadata.tsv"}


def test_the_iris_demo_ending_with_an_empty_line_imports(tmp_path: Path) -> None:
    # Refused before: "line 152: 1 value, expected 5" for the line after the last row.
    rng = np.random.default_rng(0)
    measures = np.round(rng.uniform(1, 8, size=(N, 4)), 1)
    header = "sepal_length\tsepal_width\tpetal_length\tpetal_width\tspecies"
    rows = ["\t".join([*map(str, m), SPECIES[i % 3]]) for i, m in enumerate(measures.tolist())]
    (tmp_path / "iris_labels.tsv").write_text("\n".join([header, *rows]) + "\n\n")
    vectors = seeded_vectors(N, 4)
    write_vectors_tsv(tmp_path / "iris.tsv", vectors)
    with (tmp_path / "iris.tsv").open("a") as f:
        f.write("\n \n")  # blank lines at the end of the vectors too
    ws = tmp_path / "ws"
    args = ["import-embeddings", "--vectors", str(tmp_path / "iris.tsv"), "--workspace", str(ws)]
    assert main([*args, "--metadata", str(tmp_path / "iris_labels.tsv"), "--label", "species"]) == 0
    config, index = imported(ws, "iris")
    np.testing.assert_array_equal(index.latents, vectors)
    assert config["dataset"]["label_names"] == SPECIES
    assert index.metadata["sepal_length"].dtype == np.float64  # measures stay numbers
    np.testing.assert_array_equal(index.metadata["petal_width"], measures[:, 3])


def test_whole_numbers_with_few_values_are_categories_unless_said_otherwise(
    tmp_path: Path,
) -> None:
    write_vectors_tsv(tmp_path / "v.tsv", seeded_vectors(N, D))
    meta = ["name\tyear\trooms\tprice"] + [
        f"h{i}\t{2000 + i % 5}\t{i % 4 + 1}\t{100 + i * 7}" for i in range(N)
    ]
    write_lines(tmp_path / "m.tsv", meta)
    base = ["import-embeddings", "--vectors", str(tmp_path / "v.tsv")]
    base += ["--metadata", str(tmp_path / "m.tsv"), "--workspace", str(tmp_path / "ws")]
    assert main([*base, "--name", "auto"]) == 0
    _, index = imported(tmp_path / "ws", "auto")
    assert index.metadata["year"].tolist()[:3] == ["2000", "2001", "2002"]  # 5 values
    assert index.metadata["rooms"].dtype.kind == "U"  # 4 values
    assert index.metadata["price"].dtype == np.float64  # 60 distinct values: a number
    said = ["--numeric", "year", "--categorical", "price", "--name", "said"]
    assert main([*base, *said]) == 0
    _, index = imported(tmp_path / "ws", "said")
    assert index.metadata["year"].dtype == np.float64 and index.metadata["year"][1] == 2001
    assert index.metadata["price"].tolist()[:2] == ["100", "107"]
    assert index.metadata["rooms"].dtype.kind == "U"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--numeric", "name"], "--numeric 'name': the column holds text, not numbers"),
        (["--categorical", "colour"], "--categorical 'colour': no such metadata column"),
        (["--numeric", "year", "--categorical", "year"], "both as --numeric and --categorical"),
    ],
)
def test_bad_kind_options_are_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    write_vectors_tsv(tmp_path / "v.tsv", seeded_vectors(N, D))
    write_lines(tmp_path / "m.tsv", ["name\tyear"] + [f"h{i}\t{2000 + i % 5}" for i in range(N)])
    args = ["import-embeddings", "--vectors", str(tmp_path / "v.tsv"), *extra]
    args += ["--metadata", str(tmp_path / "m.tsv"), "--workspace", str(tmp_path / "ws")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err
    assert not (tmp_path / "ws").exists()


def write_projector(root: Path) -> dict[str, np.ndarray]:
    """A standalone projector folder: projector_config.json listing two float32 .bytes
    tensors; the first with a one-column metadata.tsv and a sprite of 4x4 tiles."""
    root.mkdir()
    tensors = {"Digits": seeded_vectors(N, D, 1), "Words": seeded_vectors(30, 3, 2)}
    for name, array in tensors.items():
        array.astype("<f4").tofile(root / f"{name.lower()}.bytes")
    write_lines(root / "labels.tsv", [str(i % 10) for i in range(N)] + [""])  # ends blank
    grey = np.repeat((np.arange(N, dtype=np.uint8) * 4)[:, None], 3, axis=1)  # (N, 3)
    write_sprite(root / "sprite.png", grey, (4, 4))
    config = {
        "embeddings": [
            {
                "tensorName": "Digits",
                "tensorShape": [N, D],
                "tensorPath": "digits.bytes",
                "metadataPath": "labels.tsv",
                "sprite": {"imagePath": "sprite.png", "singleImageDim": [4, 4]},
            },
            {"tensorName": "Words", "tensorShape": [30, 3], "tensorPath": "words.bytes"},
        ]
    }
    (root / "projector_config.json").write_text(json.dumps(config))
    return tensors


def test_a_projector_config_imports_every_tensor_it_lists(tmp_path: Path) -> None:
    tensors = write_projector(tmp_path / "proj")
    ws = tmp_path / "ws"
    config_file = str(tmp_path / "proj" / "projector_config.json")
    args = ["import-embeddings", "--projector-config", config_file, "--workspace", str(ws)]
    assert main([*args, "--image-size", "8"]) == 0
    assert sorted(p.name for p in ws.iterdir()) == ["Digits", "Words"]
    config, index = imported(ws, "Digits")
    np.testing.assert_array_equal(index.latents, tensors["Digits"])  # bit for bit
    assert config["dataset"]["label_field"] == "label" and config["dataset"]["has_images"]
    assert config["dataset"]["label_names"] == [str(d) for d in range(10)]
    images = np.load(ws / "Digits" / "source" / "images.npy")
    assert images.shape == (N, 1, 8, 8) and images[7, 0, 0, 0] == 28  # tile 7, grey 7 * 4
    config, index = imported(ws, "Words")
    np.testing.assert_array_equal(index.latents, tensors["Words"])
    assert config["dataset"]["format"] == "bytes" and not config["dataset"]["has_images"]


def test_a_projector_config_imports_the_tensor_chosen_by_name(tmp_path: Path) -> None:
    tensors = write_projector(tmp_path / "proj")
    ws = tmp_path / "ws"
    config_file = str(tmp_path / "proj" / "projector_config.json")
    args = ["import-embeddings", "--projector-config", config_file, "--workspace", str(ws)]
    assert main([*args, "--tensor", "Words", "--name", "words-3d"]) == 0
    assert listing(ws)[0].startswith("words-3d")
    assert {p.name for p in ws.iterdir()} == {"words-3d"}
    np.testing.assert_array_equal(imported(ws, "words-3d")[1].latents, tensors["Words"])


@pytest.mark.parametrize(
    ("change", "extra", "expected"),
    [
        ({}, ["--tensor", "Images"], "has no tensor 'Images': its tensors are 'Digits', 'Words'"),
        ({}, ["--name", "one"], "--name names one entry, and {config} lists 2 tensors"),
        ({}, ["--metadata", "m.tsv"], "--metadata: the projector config names each tensor's"),
        ({"tensorShape": [N + 1, D]}, [], "{root}/digits.bytes: 1200 bytes, but a float32 tensor "
         f"of shape [{N + 1}, {D}] is 1220 bytes (check tensorShape)"),
        ({"tensorShape": None}, [], "a .bytes tensor needs its tensorShape"),
        ({"tensorPath": "https://example.org/t.bytes"}, [], "is a URL; download the file"),
    ],
)  # fmt: skip
def test_bad_projector_configs_are_one_error_line_and_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    extra: list[str],
    expected: str,
) -> None:
    root = tmp_path / "proj"
    write_projector(root)
    config_file = root / "projector_config.json"
    config = json.loads(config_file.read_text())
    config["embeddings"][0].update(change)
    config_file.write_text(json.dumps(config))
    ws = tmp_path / "ws"
    args = ["import-embeddings", "--projector-config", str(config_file), "--workspace", str(ws)]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert expected.format(config=config_file, root=root) in err
    assert not ws.exists()


def test_a_bytes_file_given_as_vectors_needs_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_projector(tmp_path / "proj")
    args = ["import-embeddings", "--vectors", str(tmp_path / "proj" / "digits.bytes")]
    assert main([*args, "--workspace", str(tmp_path / "ws")]) == 2
    assert "import it with --projector-config FILE" in capsys.readouterr().err

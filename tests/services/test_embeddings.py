"""``import_embeddings`` on arrays (the API users' way in): labels from metadata columns, and
vectors refused before anything is written when no index can be built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.index.fitting import IndexParams, index_latents
from app.services.embeddings import (
    MISSING_LABEL,
    EmbeddingsImport,
    import_embeddings,
    labels_from,
)
from models.data.items import ItemColumns
from models.embeddings import (
    MAX_EMBEDDING_DIM,
    MIN_EMBEDDING_DIM,
    MIN_EMBEDDING_ROWS,
    EmbeddingsSource,
)
from models.errors import ConfigError
from tests.services.vector_data import listing, seeded_vectors


def _source(vectors: np.ndarray, **metadata: np.ndarray) -> EmbeddingsSource:
    names = np.array([f"item-{i}" for i in range(len(vectors))])
    return EmbeddingsSource(vectors, names, labels=None, metadata=metadata, images=None)


def test_numeric_labels_are_exact_sorted_by_value_and_missing_is_one_class() -> None:
    # f"{v:g}" made 1000001 and 1000002 one class "1e+06", and NaN a class "nan"
    column = np.array([1000002.0, 1000001.0, np.nan, 0.1, 2.5e-7, 1000001.0, -3.0, np.nan])
    labels, names = labels_from({"size": column}, "size")
    assert names == ("-3", "2.5e-07", "0.1", "1000001", "1000002", MISSING_LABEL)
    assert labels is not None and labels.tolist() == [4, 3, 5, 2, 1, 3, 0, 5]
    assert MISSING_LABEL == "(missing)"
    # 2**60 as a float is a whole number: every digit, no exponent
    _, big = labels_from({"id": np.array([2.0**60, 1.0])}, "id")
    assert big == ("1", "1152921504606846976")
    ints, int_names = labels_from({"n": np.array([10, 2, 10], dtype=np.int64)}, "n")
    assert int_names == ("2", "10") and ints is not None and ints.tolist() == [1, 0, 1]


def test_empty_text_labels_are_the_missing_class_not_an_empty_name() -> None:
    column = np.array(["cat", "", "dog", "  ", "cat", MISSING_LABEL])
    labels, names = labels_from({"kind": column}, "kind")
    assert names == ("cat", "dog", MISSING_LABEL)
    assert labels is not None and labels.tolist() == [0, 2, 1, 2, 0, 2]
    _, complete = labels_from({"kind": np.array(["b", "a"])}, "kind")
    assert complete == ("a", "b")  # no missing value: no missing class
    assert labels_from({"kind": column}, None) == (None, ())


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((MIN_EMBEDDING_ROWS - 1, 3), f"20 vectors, too few: at least {MIN_EMBEDDING_ROWS}"),
        ((30, 1), f"vectors of 1 dimension, too few: at least {MIN_EMBEDDING_DIM}"),
        ((MIN_EMBEDDING_ROWS, 4097), f"4097 dimensions, too many: at most {MAX_EMBEDDING_DIM}"),
    ],
)
def test_vectors_no_index_can_be_built_from_are_refused_up_front(
    tmp_path: Path, shape: tuple[int, int], message: str
) -> None:
    # Before: "n_neighbors must be an integer from 2 to 2 ... got 15" or "PCA needs Z with at
    # least 2 rows and 2 columns", from deep inside the index build.
    workspace = tmp_path / "ws"
    (workspace / "earlier").mkdir(parents=True)
    before = listing(workspace)
    source = _source(np.zeros(shape, np.float32))
    with pytest.raises(ConfigError) as error:
        import_embeddings(EmbeddingsImport(source), workspace, "entry")
    assert str(error.value).startswith(f"vectors {shape}: ") and message in str(error.value)
    assert listing(workspace) == before


def test_the_fewest_vectors_build_an_index_even_with_one_item_a_class(tmp_path: Path) -> None:
    # Every label its own class: kNN accuracy is undefined (stratified 5 folds need a class of
    # 5 items) and is left out instead of failing the import.
    n = MIN_EMBEDDING_ROWS
    source = _source(seeded_vectors(n, 2), word=np.array([f"w{i}" for i in range(n)]))
    _, index = import_embeddings(EmbeddingsImport(source, label_field="word"), tmp_path, "few")
    assert len(index) == n and set(index.projections) == {"pca", "umap", "tsne"}
    assert len(index.label_names) == n and "knn_accuracy" not in index.quality
    assert set(index.quality["trustworthiness"]) == {"pca", "umap", "tsne"}


def test_the_minimum_is_tight_one_vector_fewer_and_the_index_fails() -> None:
    # What MIN_EMBEDDING_ROWS stands for: the index itself cannot be built from one fewer.
    n = MIN_EMBEDDING_ROWS - 1
    data = ItemColumns(
        item_names=np.array([f"item-{i}" for i in range(n)]), latents=seeded_vectors(n, 2)
    )
    with pytest.raises(ConfigError, match="n_neighbors"):
        index_latents(data, IndexParams(), key="key", data_sha256="sha")

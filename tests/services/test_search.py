"""The search service without HTTP: parsing, the fields a query can name, and the edge cases
the session's models do not have (NaN cells, quoted spaces, a label field outside the
metadata, a metadata column called like a built-in field)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from app.index.store import LatentIndex
from app.services.search import (
    Searchable,
    SearchResult,
    Term,
    parse_query,
    search,
    search_fields,
)
from models.data.items import ItemColumns
from models.errors import InvalidInputError


def make_index() -> LatentIndex:
    items = ItemColumns(
        item_names=np.array(["cats/tom cat.png", "cats/Felix.png", "dogs/rex.png", "dogs/a,b.png"]),
        labels=np.array([0, 0, 1, -1]),
        label_field="class",  # not a metadata column: the search makes it one
        label_names=("cat", "dog"),
        metadata={
            "colour": np.array(["dark red", "black", "Dark Red", ""]),
            "weight": np.array([4.0, np.nan, 30.0, 12.5]),
            "id": np.array(["a", "b", "c", "d"]),  # shadows the built-in id
            "Size": np.array([1.0, 2.0, 3.0, 4.0]),
            "size": np.array([1.0, 2.0, 3.0, 4.0]),
        },
        latents=np.zeros((4, 2), np.float32),
    )
    return LatentIndex(items=items, projections={}, inverses={})


def ids(query: str) -> list[int]:
    return np.flatnonzero(search(make_index(), query).mask).tolist()


def test_parse_terms_operators_and_quotes() -> None:
    assert parse_query(' weight>=4  colour="dark red" "tom cat" x==1 a!=b ') == [
        Term("weight", ">=", "4"),
        Term("colour", "=", "dark red"),
        Term(None, "contains", "tom cat"),
        Term("x", "=", "1"),
        Term("a", "!=", "b"),
    ]


def test_fields_and_their_types() -> None:
    fields = search_fields(make_index())
    assert list(fields) == ["colour", "weight", "id", "Size", "size", "class", "name"]
    assert fields["class"].tolist() == ["cat", "cat", "dog", ""]  # -1: no label
    assert fields["id"].dtype.kind == "U"  # the metadata column wins over the built-in id
    assert "reconstruction_error" not in fields  # no decoder, no errors


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('colour="dark red"', [0, 2]),
        ("colour=", [3]),
        ("class=DOG", [2]),
        ("class!=cat", [2, 3]),
        ("weight>5", [2, 3]),
        ("weight!=4", [2, 3]),  # NaN (item 1) meets no number condition
        ("weight<=100", [0, 2, 3]),
        ('"tom cat"', [0]),
        ("CATS/", [0, 1]),
        ("a,b", [3]),  # commas are part of a word
        ("id=c", [2]),
        ("cats weight>1", [0]),
    ],
)
def test_matches(query: str, expected: list[int]) -> None:
    assert ids(query) == expected


def test_a_prepared_searchable_answers_as_the_index_and_holds_the_lowered_columns() -> None:
    index = make_index()
    ready = Searchable.of(index)
    assert ready.names.tolist() == [
        "cats/tom cat.png",
        "cats/felix.png",
        "dogs/rex.png",
        "dogs/a,b.png",
    ]
    assert ready.lowered["colour"].tolist() == ["dark red", "black", "dark red", ""]
    assert "weight" not in ready.lowered  # numbers are compared as numbers
    for query in ('colour="DARK RED"', "felix", "class!=cat weight>5", "size>=2 Size<4"):
        np.testing.assert_array_equal(search(ready, query).mask, search(index, query).mask)
    assert np.flatnonzero(search(ready, 'colour="DARK RED"').mask).tolist() == [0, 2]


def test_a_field_name_ignores_case_only_when_that_is_unambiguous() -> None:
    assert ids("WEIGHT>5") == [2, 3]
    assert ids("size>3") == [3] and ids("Size>3") == [3]
    with pytest.raises(InvalidInputError) as caught:
        ids("SIZE>3")  # Size or size?
    assert caught.value.code == "unknown_field"
    assert "Size (number), size (number)" in str(caught.value)


def test_the_bitmap_is_a_bit_per_item_least_significant_first() -> None:
    mask = np.zeros(11, dtype=bool)
    mask[[0, 3, 8, 10]] = True
    found = SearchResult(query="q", mask=mask)
    assert base64.b64decode(found.bitmap()) == bytes([0b1001, 0b101])
    assert found.ids(2) == [0, 3] and found.count == 4 and found.total == 11

"""GET /api/models/{m}/search: the query language, each match checked against numpy over the
stored index, on the digits model (a text label field) and on a shapes model (numeric factor
metadata)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.index.store import LatentIndex
from tests.api.helpers import assert_error
from tests.conftest import SHAPES_MODEL


def found(client: TestClient, api: str, q: str, **params: object) -> np.ndarray:
    """The ids a query matches, checked for count and order against its own answer."""
    response = client.get(f"{api}/search", params={"q": q, "limit": 100_000, **params})
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    ids = np.array(body["ids"], dtype=np.int64)
    assert body["count"] == len(ids) and not body["truncated"]
    assert np.all(np.diff(ids) > 0)
    return ids


def expect(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


# ---- digits: a text label field, item names, id and reconstruction_error --------------------


def test_the_label_field_by_its_name(client: TestClient, api: str, index: LatentIndex) -> None:
    digit = index.metadata["digit"]
    assert index.label_field == "digit"
    threes = expect(digit == "3")
    assert 100 < len(threes) < 300  # the bundled digits: about a tenth are 3s
    np.testing.assert_array_equal(found(client, api, "digit=3"), threes)
    np.testing.assert_array_equal(found(client, api, "digit==3"), threes)
    np.testing.assert_array_equal(found(client, api, "digit!=3"), expect(digit != "3"))
    # field names and text values ignore case
    np.testing.assert_array_equal(found(client, api, "DIGIT=3"), threes)


@pytest.mark.parametrize(
    ("q", "column", "op"),
    [
        ("id>1500", "id", np.greater),
        ("id<40", "id", np.less),
        ("id>=1790", "id", np.greater_equal),
        ("id<=7", "id", np.less_equal),
        ("id=12", "id", np.equal),
        ("id!=0", "id", np.not_equal),
        ("reconstruction_error>0.05", "errors", np.greater),
        ("reconstruction_error<=2e-2", "errors", np.less_equal),
    ],
)
def test_each_number_operator(
    client: TestClient, api: str, index: LatentIndex, q: str, column: str, op: np.ufunc
) -> None:
    assert index.errors is not None
    values = np.arange(len(index)) if column == "id" else index.errors.astype(np.float64)
    value = float(q.split("=")[-1].split(">")[-1].split("<")[-1])
    wanted = expect(op(values, value))
    assert 0 < len(wanted) < len(index) or q == "id=12"
    np.testing.assert_array_equal(found(client, api, q), wanted)


def test_terms_are_and_ed(client: TestClient, api: str, index: LatentIndex) -> None:
    assert index.errors is not None
    median = float(np.median(index.errors))
    mask = (
        (index.metadata["digit"] == "7") & (index.errors > median) & (np.arange(len(index)) < 900)
    )
    ids = found(client, api, f"digit=7  reconstruction_error>{median} id<900")
    assert len(ids) > 10
    np.testing.assert_array_equal(ids, expect(mask))


def test_a_bare_word_is_a_name_substring_ignoring_case(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    names = np.char.lower(index.item_names.astype(np.str_))
    for word in ["0012", "DIGIT-01", "-1"]:
        wanted = expect(np.char.find(names, word.lower()) >= 0)
        assert 0 < len(wanted) < len(index)
        np.testing.assert_array_equal(found(client, api, word), wanted)
    # with a condition, and a name as a field (equality)
    both = expect((np.char.find(names, "-01") >= 0) & (index.metadata["digit"] == "4"))
    np.testing.assert_array_equal(found(client, api, "-01 digit=4"), both)
    np.testing.assert_array_equal(found(client, api, 'name="Digit-0005"'), [5])
    assert len(found(client, api, "no-such-name")) == 0


def test_limit_truncates_the_ids_and_the_bitmap_holds_every_match(
    client: TestClient, api: str, index: LatentIndex
) -> None:
    wanted = expect(index.metadata["digit"] != "1")
    body = client.get(f"{api}/search", params={"q": "digit!=1", "limit": 5, "bitmap": True}).json()
    assert body["ids"] == wanted[:5].tolist()
    assert body["count"] == len(wanted) and body["truncated"] is True
    assert body["total"] == len(index) and body["query"] == "digit!=1"
    bits = np.frombuffer(base64.b64decode(body["bitmap"]), dtype=np.uint8)
    assert len(bits) == (len(index) + 7) // 8
    mask = np.unpackbits(bits, bitorder="little")[: len(index)].astype(bool)
    np.testing.assert_array_equal(np.flatnonzero(mask), wanted)
    plain = client.get(f"{api}/search", params={"q": "digit=1"}).json()
    assert plain["bitmap"] is None and len(plain["ids"]) == plain["count"]  # default limit 1000


@pytest.mark.parametrize(
    ("q", "code", "names"),
    [
        ("colour=red", "unknown_field", "'colour'"),
        ("digit=3 size>2", "unknown_field", "'size'"),
        ("digit>3", "bad_query", "'digit' is text"),
        ("name<=b", "bad_query", "'name' is text"),
        ("id>abc", "bad_query", "'abc' is not a finite number"),
        ("reconstruction_error<nan", "bad_query", "'nan'"),
        ("id=1_000", "bad_query", "'1_000'"),
        ("id=", "bad_query", "'id' is a number"),
        ("=3", "bad_query", "needs a field"),
        ('name="digit-0001', "bad_query", "unclosed"),
        ("   ", "bad_query", "empty query"),
    ],
)
def test_refusals_name_the_field_and_list_the_fields(
    client: TestClient, api: str, q: str, code: str, names: str
) -> None:
    message = assert_error(client.get(f"{api}/search", params={"q": q}), 422, code)
    assert names in message
    if code == "unknown_field" or "is" in names:
        for field in ["digit (text)", "name (text)", "id (number)", "reconstruction_error"]:
            assert field in message


def test_request_limits(client: TestClient, api: str) -> None:
    assert_error(client.get(f"{api}/search"), 422, "invalid_input")  # no q
    assert_error(client.get(f"{api}/search", params={"q": ""}), 422, "invalid_input")
    assert_error(client.get(f"{api}/search", params={"q": "x" * 1001}), 422, "invalid_input")
    assert_error(client.get(f"{api}/search", params={"q": "a", "limit": -1}), 422, "invalid_input")
    terms = " ".join(["id>0"] * 33)
    assert "at most 32 terms" in assert_error(
        client.get(f"{api}/search", params={"q": terms}), 422, "bad_query"
    )
    assert_error(client.get("/api/models/nope/search", params={"q": "a"}), 404, "unknown_model")


# ---- shapes: numeric factors (x, y, scale: area 0.02-0.12, rotation), a text label (shape) ----


@pytest.fixture
def shapes(shapes_client: TestClient, shapes_index: LatentIndex) -> tuple[TestClient, LatentIndex]:
    return shapes_client, shapes_index


SHAPES_API = f"/api/models/{SHAPES_MODEL}"


@pytest.mark.parametrize(
    ("q", "wanted"),
    [
        ("scale>0.07", lambda m: m["scale"] > 0.07),
        ("scale<0.04", lambda m: m["scale"] < 0.04),
        ("rotation>=90", lambda m: m["rotation"] >= 90),
        ("x<=0.4", lambda m: m["x"] <= 0.4),
        ("shape=HEART", lambda m: m["shape"] == "heart"),
        ("shape!=square", lambda m: m["shape"] != "square"),
        (
            "shape=ellipse x>0.3 y<0.6 scale>=0.05",
            lambda m: (
                (m["shape"] == "ellipse") & (m["x"] > 0.3) & (m["y"] < 0.6) & (m["scale"] >= 0.05)
            ),
        ),
    ],
)
def test_shapes_factors(shapes: tuple[TestClient, LatentIndex], q: str, wanted: object) -> None:
    client, index = shapes
    assert index.metadata["scale"].dtype == np.float64 and index.label_field == "shape"
    mask = wanted(index.metadata)  # type: ignore[operator]
    assert 0 < mask.sum() < len(index)
    np.testing.assert_array_equal(found(client, SHAPES_API, q), expect(mask))


def test_shapes_refusals_list_the_factors(shapes: tuple[TestClient, LatentIndex]) -> None:
    client, _ = shapes
    message = assert_error(client.get(f"{SHAPES_API}/search", params={"q": "size>1"}), 422)
    for field in ["shape (text)", "x (number)", "scale (number)", "rotation (number)"]:
        assert field in message
    message = assert_error(
        client.get(f"{SHAPES_API}/search", params={"q": "scale>big"}), 422, "bad_query"
    )
    assert "'scale' is a number" in message

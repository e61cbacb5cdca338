"""Bad input of every kind: a 4xx in the one error shape with a message that says what was
wrong, never a 5xx, and the server goes on serving (checked after every case)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import assert_error, encode_file

MODEL = "digits-vae-4"
API = f"/api/models/{MODEL}"
JSON = {"content-type": "application/json"}


def still_serving(client: TestClient) -> None:
    response = client.post(f"{API}/decode", json={"id": 0})
    assert response.status_code == 200
    assert response.json()["latent"]


def rejected(
    client: TestClient, response: Any, status: int, code: str | None, hint: str = ""
) -> None:
    message = assert_error(response, status, code)
    assert hint in message, message
    still_serving(client)


# -- unknown things and path tricks ----------------------------------------------------------

LONG = "a" * 5000


@pytest.mark.parametrize(
    ("path", "code", "hint"),
    [
        ("/api/models/no-such-model", "unknown_model", MODEL),
        ("/api/models/no-such-model/points", "unknown_model", MODEL),
        ("/api/models/no-such-model/items/0/image", "unknown_model", MODEL),
        (f"/api/models/{LONG}", "unknown_model", "..."),
        (f"/api/models/{LONG}/points", "unknown_model", "..."),
        (f"{API}/items/1797/image", "unknown_item", "0 to 1796"),
        (f"{API}/items/1797/thumbnail", "unknown_item", "0 to 1796"),
        (f"{API}/items/-1/image", "unknown_item", "0 to 1796"),
        (f"{API}/items/1.5/image", "unknown_item", "0 to 1796"),
        (f"{API}/items/0x10/image", "unknown_item", "0 to 1796"),
        (f"{API}/items/{'9' * 5000}/image", "unknown_item", "..."),
        (f"{API}/items/%C2%B2/image", "unknown_item", "0 to 1796"),  # "²".isdigit()
        (f"{API}/items/%D9%A1/image", "unknown_item", "0 to 1796"),  # Arabic-Indic one
        (f"{API}/items/..%2F..%2F0/image", "not_found", "endpoint"),
        (f"{API}/items/%2E%2E/image", "unknown_item", "'..'"),
        ("/api/models/%2E%2E", "unknown_model", MODEL),
        ("/api/models/..%2F..%2Fetc%2Fpasswd", "not_found", "endpoint"),
        (f"/api/models/..%2F{MODEL}", "not_found", "endpoint"),
        ("/api/models/../../etc/passwd", "not_found", "endpoint"),
        ("/api/nothing-here", "not_found", "endpoint"),
        (f"{API}/items/0/nothing", "not_found", "endpoint"),
        (f"{API}/items/%2E%2E", "unknown_item", "'..'"),
    ],
)
def test_unknown_paths_are_404(client: TestClient, path: str, code: str, hint: str) -> None:
    rejected(client, client.get(path), 404, code, hint)


@pytest.mark.parametrize(
    "endpoint", ["decode", "neighbors", "interpolate", "arithmetic", "attributes", "encode"]
)
def test_posting_to_an_unknown_model_is_404(client: TestClient, endpoint: str) -> None:
    response = client.post(f"/api/models/{LONG}/{endpoint}", json={"id": 0})
    rejected(client, response, 404, "unknown_model", "...")


def test_a_wrong_method_is_405(client: TestClient) -> None:
    rejected(client, client.delete(API), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("DELETE", f"{API}/attributes", "GET, POST"), ("PUT", f"{API}/decode", "POST")],
)
def test_a_405_lists_every_method_the_path_serves(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    """RFC 9110 wants Allow on a 405; Starlette's own names only the first route's methods
    (GET for .../attributes, which POST serves too)."""
    response = client.request(method, path)
    use = allow.replace(", ", " or ")
    rejected(
        client, response, 405, "method_not_allowed", f"{method} is not allowed here: use {use}"
    )
    assert response.headers["allow"] == allow


# -- JSON bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        ('{"latent": [1, 2, 3]}', 422, "wrong_latent_size", "latent size of 4"),
        ('{"latent": [1, 2, 3, 4, 5]}', 422, "wrong_latent_size", "5 values"),
        ('{"latent": []}', 422, "wrong_latent_size", "0 values"),
        (f'{{"latent": [{", ".join(["0"] * 4097)}]}}', 422, "invalid_input", "4096"),
        ('{"latent": [NaN, 0, 0, 0]}', 422, "not_finite", "NaN"),
        ('{"latent": [0, Infinity, 0, 0]}', 422, "not_finite", "infinite"),
        ('{"latent": [0, 0, -Infinity, 0]}', 422, "not_finite", "infinite"),
        ('{"latent": [0, 0, 0, 1e400]}', 422, "not_finite", "infinite"),
        ('{"latent": [1e7, 0, 0, 0]}', 422, "latent_out_of_range", "1e+06"),
        ('{"latent": [-1e300, 0, 0, 0]}', 422, "latent_out_of_range", "1e+06"),
        ('{"latent": [1' + "0" * 400 + ", 0, 0, 0]}", 422, "invalid_input", "latent"),
        ('{"latent": ["a", 0, 0, 0]}', 422, "invalid_input", "latent.0"),
        ('{"point": [NaN, 0]}', 422, "bad_point", "finite"),
        ('{"point": [1e300, 0]}', 422, "bad_point", "finite"),
        ('{"point": [1, 2, 3]}', 422, "invalid_input", "point"),
        ('{"point": [0, 0], "projection": "isomap"}', 422, "unknown_projection", "pca, umap, tsne"),
        ('{"id": 1797}', 404, "unknown_item", "0 to 1796"),
        ('{"id": 99999999999999999999999999}', 404, "unknown_item", "0 to 1796"),
        ('{"id": -1}', 422, "invalid_input", "greater than or equal to 0"),
        ('{"id": 1.5}', 422, "invalid_input", "id"),
        ('{"id": true}', 422, "invalid_input", "a JSON integer"),  # not item 1
        ('{"id": "3"}', 422, "invalid_input", "a JSON integer"),  # not item 3
        ('{"id": 1, "latent": [0, 0, 0, 0]}', 422, "bad_reference", "exactly one of"),
        ("{}", 422, "bad_reference", "exactly one of"),
        ('{"id": 1, "colour": "red"}', 422, "invalid_input", "colour"),
        ("[]", 422, "invalid_input", "object"),
        ("null", 422, "invalid_input", "object"),
        ('"id"', 422, "invalid_input", "object"),
        ('{"id": 1', 422, "invalid_input", "JSON"),
        ("{'id': 1}", 422, "invalid_input", "JSON"),
        ("[" * 100_000, 400, "bad_request", "parsing the body"),  # too deep for Python's json
    ],
)
def test_bad_decode_bodies(
    client: TestClient, body: str, status: int, code: str, hint: str
) -> None:
    response = client.post(
        f"{API}/decode", content=body.encode("utf-8", "surrogatepass"), headers=JSON
    )
    rejected(client, response, status, code, hint)


def test_an_empty_body_is_422(client: TestClient) -> None:
    rejected(client, client.post(f"{API}/decode", headers=JSON), 422, "invalid_input")


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        ({"steps": 1}, 422, "bad_steps", "2 to 64"),
        ({"steps": 65}, 422, "bad_steps", "2 to 64"),
        ({"steps": -5}, 422, "bad_steps", "2 to 64"),
        ({"steps": 10**20}, 422, "bad_steps", "2 to 64"),
        ({"steps": "many"}, 422, "invalid_input", "steps"),
        ({"method": "cubic"}, 422, "bad_method", "lerp or slerp"),
        ({"projection": "isomap"}, 422, "unknown_projection", "pca, umap, tsne"),
        ({"start": {"id": 5000}}, 404, "unknown_item", "0 to 1796"),
        ({"end": {"latent": [1, 2]}}, 422, "wrong_latent_size", "end"),
        ({"end": {}}, 422, "bad_reference", "end needs"),
    ],
)
def test_bad_interpolations(
    client: TestClient, body: dict[str, Any], status: int, code: str, hint: str
) -> None:
    full = {"start": {"id": 0}, "end": {"id": 1}} | body
    response = client.post(f"{API}/interpolate", json=full)
    rejected(client, response, status, code, hint)


@pytest.mark.parametrize(
    ("body", "code", "hint"),
    [
        ({"id": 1, "k": 0}, "bad_k", "1 to 1000"),
        ({"id": 1, "k": 1001}, "bad_k", "1 to 1000"),
        ({"id": 1, "k": -3}, "bad_k", "1 to 1000"),
        ({"id": 1, "k": 10**30}, "bad_k", "1 to 1000"),
        ({"id": 1, "metric": "manhattan"}, "bad_metric", "euclidean or cosine"),
        ({"id": 1, "metric": "x" * 10_000}, "bad_metric", "euclidean or cosine"),
        ({"latent": [0, 0]}, "wrong_latent_size", "latent size of 4"),
    ],
)
def test_bad_neighbour_queries(
    client: TestClient, body: dict[str, Any], code: str, hint: str
) -> None:
    rejected(client, client.post(f"{API}/neighbors", json=body), 422, code, hint)


@pytest.mark.parametrize(
    ("query", "status", "code", "hint"),
    [
        ("projection=isomap", 422, "unknown_projection", "pca, umap, tsne"),
        ("projection=", 422, "unknown_projection", "pca, umap, tsne"),
        ("projection=" + "x" * 100, 422, "invalid_input", "32"),
    ],
)
def test_bad_point_queries(
    client: TestClient, query: str, status: int, code: str, hint: str
) -> None:
    rejected(client, client.get(f"{API}/points?{query}"), status, code, hint)


# -- uploads ----------------------------------------------------------------------------------


# One bad or odd file of each kind: tests/api/test_upload_corpus.py. Here: the requests.


def small_png() -> bytes:
    return encode_file(np.zeros((16, 16), np.uint8))


def test_one_bad_file_among_good_ones_fails_the_request(client: TestClient) -> None:
    files = [("file", ("good.png", small_png())), ("file", ("bad.png", b"nope"))]
    response = client.post(f"{API}/encode", files=files)
    rejected(client, response, 415, "unsupported_format", "bad.png")


def test_too_many_files(client: TestClient) -> None:
    files = [("file", (f"{i}.png", small_png())) for i in range(17)]
    response = client.post(f"{API}/encode", files=files)
    rejected(client, response, 422, "too_many_images", "limit is 16")


def test_sixteen_files_is_fine(client: TestClient) -> None:
    files = [("file", (f"{i}.png", small_png())) for i in range(16)]
    response = client.post(f"{API}/encode", files=files, params={"k": 0})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 16


@pytest.mark.parametrize(
    ("query", "code", "hint"),
    [("k=-1", "bad_k", "0 to 1000"), ("k=1001", "bad_k", "0 to 1000"), ("k=two", None, "k")],
)
def test_bad_encode_k(client: TestClient, query: str, code: str | None, hint: str) -> None:
    files = {"file": ("a.png", small_png())}
    response = client.post(f"{API}/encode?{query}", files=files)
    rejected(client, response, 422, code, hint)


@pytest.mark.parametrize(
    "request_args",
    [
        {"files": {"photo": ("a.png", b"\x89PNG")}},  # wrong field name
        {"json": {"file": "a.png"}},  # not multipart at all
        {"data": {"file": "just text"}},  # a form field, not a file
    ],
    ids=["wrong field", "json", "text field"],
)
def test_encode_needs_file_parts(client: TestClient, request_args: dict[str, Any]) -> None:
    response = client.post(f"{API}/encode", **request_args)
    rejected(client, response, 422, "invalid_input", "file")


@pytest.mark.parametrize(
    ("content_type", "body", "hint"),
    [
        ("multipart/form-data", b"--xyz\r\n\r\nabc\r\n--xyz--\r\n", "boundary"),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data; filename=a.png\r\n\r\nabc\r\n--xyz--\r\n",
            "name",
        ),
    ],
    ids=["no boundary", "part without a name"],
)
def test_a_broken_multipart_body(
    client: TestClient, content_type: str, body: bytes, hint: str
) -> None:
    response = client.post(f"{API}/encode", content=body, headers={"content-type": content_type})
    rejected(client, response, 400, "bad_request", hint)

"""The API documents itself: every path has a summary, JSON bodies carry examples that are
valid requests, and /docs serves the interactive page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app import schemas

# JSON request bodies and the schema each must be documented with.
BODIES = {
    ("post", "/api/models/{model}/decode"): schemas.DecodeIn,
    ("post", "/api/models/{model}/interpolate"): schemas.InterpolateIn,
    ("post", "/api/models/{model}/attributes"): schemas.AttributeIn,
    ("post", "/api/models/{model}/arithmetic"): schemas.ArithmeticIn,
    ("post", "/api/models/{model}/neighbors"): schemas.NeighboursIn,
    ("post", "/api/models/{model}/traverse"): schemas.TraverseIn,
}


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_api_path_is_documented_with_a_summary(spec: dict[str, Any]) -> None:
    found = operations(spec)
    paths = {path for _, path, _ in found}
    assert {
        "/api/health",
        "/api/models",
        "/api/models/{model}",
        "/api/models/{model}/points",
        "/api/models/{model}/items/{item_id}/image",
        "/api/models/{model}/items/{item_id}/thumbnail",
        "/api/models/{model}/encode",
        "/api/models/{model}/attributes",
    } | {path for _, path in BODIES} <= paths
    assert all(path.startswith("/api/") for path in paths)  # pages stay out of the schema
    for method, path, operation in found:
        summary = operation.get("summary", "")
        assert len(summary) >= 10, f"{method.upper()} {path} has no summary"
        assert not summary.lower().startswith(method), f"{method.upper()} {path}: {summary}"


@pytest.mark.parametrize(("method", "path"), list(BODIES))
def test_json_bodies_have_examples_that_validate(
    spec: dict[str, Any], method: str, path: str
) -> None:
    body = spec["paths"][path][method]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    examples = schema.get("examples")
    assert examples, f"{path} has no request example"
    model: type[BaseModel] = BODIES[method, path]
    for example in examples:
        model.model_validate(example)  # a stale example (renamed field) would fail here


def test_the_upload_form_documents_its_file_field(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/models/{model}/encode"]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"]["type"] == "array"


def test_image_endpoints_document_png(spec: dict[str, Any]) -> None:
    for kind in ("image", "thumbnail"):
        operation = spec["paths"][f"/api/models/{{model}}/items/{{item_id}}/{kind}"]["get"]
        assert "image/png" in operation["responses"]["200"]["content"]


def test_docs_page_loads_the_schema(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text


def test_docs_pages_load_nothing_from_outside(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "https://" not in html, page  # no CDN script, style, favicon or font
        for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
            response = client.get(asset)
            assert response.status_code == 200, asset
            assert (
                b"cdn.redoc.ly" not in response.content and b"cdn.jsdelivr" not in response.content
            )


def test_fixed_choices_are_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["InterpolateIn"]["properties"]["method"]["enum"] == ["lerp", "slerp"]
    for body in ("NeighboursIn", "ArithmeticIn"):
        assert schemas[body]["properties"]["metric"]["enum"] == ["euclidean", "cosine"]


def test_either_or_bodies_say_so(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for body, fields in [
        ("RefIn", ["id", "latent", "point"]),
        ("DecodeIn", ["id", "latent", "point"]),
        ("NeighboursIn", ["id", "latent", "point"]),
        ("TermIn", ["attribute", "vector"]),
        ("ArithmeticIn", ["start", "analogy"]),
    ]:
        assert [branch["required"] for branch in schemas[body]["oneOf"]] == [[f] for f in fields]


def test_per_model_constraints_are_described(spec: dict[str, Any]) -> None:
    ref = spec["components"]["schemas"]["RefIn"]["properties"]
    assert "latent_dim" in ref["latent"]["description"]
    assert "n_items" in ref["id"]["description"]
    assert "projections" in ref["projection"]["description"]
    item = spec["paths"]["/api/models/{model}/items/{item_id}"]["get"]["parameters"]
    assert any("n_items" in p.get("description", "") for p in item)

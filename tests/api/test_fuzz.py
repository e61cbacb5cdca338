"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (Schemathesis).

Every operation the schema documents gets its explicit examples, Schemathesis' deterministic
coverage cases (boundaries, missing and wrong-typed fields, undeclared methods) and up to
``MAX_EXAMPLES`` generated ones, valid and invalid, sent to an app of its own in-process.
Every check Schemathesis has runs on every response: no 5xx, a status code the schema
documents for that operation, the documented content type, a body that validates against the
documented schema (errors against the one error shape, app.schemas.ErrorOut), invalid input
rejected with a 4xx, a 405 that lists the methods the path does serve, and valid input
accepted: a request valid by the document may be refused only for what a static document
cannot say (a model's names, ranges and latent size, an upload's bytes, the server's
settings), with the error codes listed in PER_MODEL_REFUSALS.

Runs are repeatable: a fixed seed, derandomised Hypothesis, and no example database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.config import Settings
from app.main import create_app

MODEL = "digits-vae-4"  # tests/conftest.py's model
MAX_EXAMPLES = 20  # per operation, besides the examples and coverage cases: ~15 s in all

# Most generated model names are random strings (404); these dictionaries make most requests
# reach a real model and real items, so the handlers' own validation and success paths are
# fuzzed too, not only the routing.
ITEM_IDS = [0, 7, 1796]
ID_FIELDS = ["id", "start.id", "end.id", "analogy.a.id", "analogy.b.id", "analogy.c.id"]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 0,
        "dictionaries": {
            "models": {"values": [MODEL]},
            "item_paths": {"values": [str(i) for i in ITEM_IDS]},
            "item_ids": {"values": ITEM_IDS},
            "attributes": {"values": ["digit=3", "digit:1-7"]},
            "projections": {"values": ["umap", "pca"]},
        },
        "parameters": {
            "path.model": {"dictionary": "models", "probability": 0.85},
            # GET /api/compare names its two models in the query (one model: compared to itself)
            "query.a": {"dictionary": "models", "probability": 0.85},
            "query.b": {"dictionary": "models", "probability": 0.85},
            # GET /api/compare/align and /change: a reference and a model (the same one here)
            "query.reference": {"dictionary": "models", "probability": 0.85},
            "query.model": {"dictionary": "models", "probability": 0.85},
            "query.models": {"dictionary": "models", "probability": 0.85},
            # GET /api/compare/align names a projection both models have (a required field)
            "query.projection": {"dictionary": "projections", "probability": 0.7},
            "path.item_id": {"dictionary": "item_paths", "probability": 0.7},
            "body.terms[*].attribute": {"dictionary": "attributes", "probability": 0.7},
            "body.group_a[*]": {"dictionary": "item_ids", "probability": 0.9},
            "body.group_b[*]": {"dictionary": "item_ids", "probability": 0.9},
        }
        | {f"body.{f}": {"dictionary": "item_ids", "probability": 0.7} for f in ID_FIELDS},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)

# Every check runs. Requests valid by the document must be accepted, except for what a static
# document cannot say, which the descriptions say instead; each such refusal must carry one
# of these codes (any other 4xx to a valid request fails the test):
PER_MODEL_REFUSALS = {
    # names and ranges that depend on which models the server has (GET /api/models)
    "unknown_model": "a model name the server does not have",
    "unknown_projection": "a projection name the model does not have",
    "no_such_bar": "a topology bar past the end of the model's diagram (its length is data)",
    "too_few_items": "neighbourhoods compared on a model of 10 items or fewer",
    "unknown_item": "an item id past the model's n_items",
    "wrong_latent_size": "a latent or term vector not of the model's latent_dim",
    "unknown_attribute": "an attribute id the model does not have",
    # a search query is text in a language the schema cannot describe, over the model's fields
    "unknown_field": "a search query naming a field the model does not have",
    "bad_query": "a search query that does not read, or compares a field the wrong way",
    "no_normal_classes": "anomaly scores of a model trained on every class (how it was trained)",
    # the denoising demo needs a dae and a plain ae among the loaded models (the fuzzed app
    # serves one VAE: every valid request stops there)
    "no_dae": "no dae model loaded (on the shown model's items)",
    "no_ae": "no plain ae loaded on the dae's items",
    "not_a_dae": "a model named as the dae that is of another kind",
    # what the bytes of an upload hold: the document says binary and which image types
    "unsupported_format": "an upload that is not an image",
    "corrupt_image": "an upload that claims to be an image and is damaged",
    "empty_upload": "an upload of zero bytes",
    # limits set by the server's settings, not by the code the document comes from
    "too_many_images": "more files than max_batch_images",
    "bad_ids": "more item ids than one thumbnails request takes (MAX_THUMBNAILS)",
    "payload_too_large": "a body over max_upload_bytes",
    "too_many_attributes": "more user-defined attributes than max_custom_attributes",
}


def homogeneous_tuples(node: Any) -> Any:
    """The OpenAPI document with each fixed-length tuple whose items share one schema
    (``prefixItems: [number, number]``, min = max = 2) spelt as ``items: number``, which
    validates exactly the same arrays.

    Schemathesis 4.32 rewrites ``prefixItems`` in response schemas to the draft-4 tuple form
    (``items: [...]``) and then hands them to a draft 2020-12 validator, which rejects the
    schema itself ("is not of types boolean, object"), so a tuple in a response could not be
    checked at all.
    """
    if isinstance(node, list):
        return [homogeneous_tuples(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: homogeneous_tuples(v) for k, v in node.items()}
    if "prefixItems" in node:
        first, *rest = node.pop("prefixItems")
        # Anything else would not be an equivalent rewrite: fail rather than check less.
        assert all(item == first for item in rest), node
        assert node["minItems"] == node["maxItems"] == len(rest) + 1, node
        assert "items" not in node, node
        node["items"] = first
    return node


# Built from the app's routes alone (no models load), so that pytest can name one test per
# operation; the requests go to `fuzz_app` below, whose /openapi.json is this same document.
DOCUMENT = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(homogeneous_tuples(DOCUMENT), config=CONFIG)


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings) -> Iterator[FastAPI]:
    """An app of its own (fuzzing defines attributes, which live in its memory), run by
    Schemathesis' in-process ASGI transport, which starts its lifespan on first use and keeps
    it until stopped here (or at exit). Its topology runs on 300 landmarks: the fuzzer is after
    answers, and the first full-size computation can pass its 10 s read timeout on a busy
    machine."""
    app = create_app(settings.model_copy(update={"topology_max_points": 300}))
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def statuses() -> Counter[tuple[str, int]]:
    """(operation, status) -> responses seen, filled by test_api."""
    return Counter()


@pytest.fixture(scope="module")
def refusals() -> Counter[tuple[str, str]]:
    """(operation, error code) -> valid requests refused for a per-model reason."""
    return Counter()


def body_valid_by_document(case: schemathesis.Case) -> bool:
    """Whether a JSON body really is valid by the document, checked with a JSON Schema 2020-12
    validator. Schemathesis' coverage phase builds "positive" bodies field by field and does
    not hold them to a ``oneOf`` (``{"id": 0, "point": [0, 0]}`` for exactly one of id, latent
    or point): those are invalid requests, which must be (and are) refused."""
    if not isinstance(case.body, dict | list) or case.media_type != "application/json":
        return True
    path = case.operation.path.replace("~", "~0").replace("/", "~1")
    pointer = f"#/paths/{path}/{case.operation.method.lower()}/requestBody/content/"
    root = {**DOCUMENT, "$ref": pointer + "application~1json/schema"}
    return bool(jsonschema.Draft202012Validator(root).is_valid(case.body))


def check_valid_requests_are_accepted(
    case: schemathesis.Case, response: schemathesis.Response, refusals: Counter[tuple[str, str]]
) -> None:
    """Schemathesis' positive_data_acceptance, with the refusals a static document cannot
    rule out allowed by their error code (PER_MODEL_REFUSALS) and counted."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if not 400 <= response.status_code < 500 or not body_valid_by_document(case):
        return
    error = response.json()["error"]
    assert error["code"] in PER_MODEL_REFUSALS, (
        f"{case.operation.label}: a request valid by the document was refused with "
        f"{response.status_code} {error['code']}: {error['message']}\n"
        f"{case.as_curl_command()}"
    )
    refusals[case.operation.label, error["code"]] += 1


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Generated bodies are large and nested; Hypothesis' speed and size checks would stop
    # the run, not find a bug.
    suppress_health_check=list(HealthCheck),
)
def test_api(
    case: schemathesis.Case,
    fuzz_app: FastAPI,
    statuses: Counter[tuple[str, int]],
    refusals: Counter[tuple[str, str]],
) -> None:
    response = case.call_and_validate(app=fuzz_app, excluded_checks=[positive_data_acceptance])
    statuses[case.operation.label, response.status_code] += 1
    check_valid_requests_are_accepted(case, response, refusals)


def test_the_fuzzing_reached_every_operation_and_its_success_path(
    fuzz_app: FastAPI, statuses: Counter[tuple[str, int]]
) -> None:
    """Guards the test above against passing vacuously (every request a 404, say): each
    operation got requests, and each answered 2xx at least once, except /encode, which no
    generated bytes get past (a real image: tests/api/test_upload_corpus.py), and /denoise,
    which needs a dae the fuzzed app does not serve (its successes: tests/api/test_denoise.py)."""
    operations = {
        f"{method.upper()} {path}"
        for path, item in openapi_paths(fuzz_app).items()
        for method in item
    }
    seen = {label for label, _ in statuses}
    assert seen == operations, f"not fuzzed (run the whole module): {operations - seen}"
    succeeded = {label for label, status in statuses if 200 <= status < 300}
    # /anomaly: the session's model was trained on every class, so it answers 409 (its
    # success path: tests/api/test_anomaly.py, on a model trained with normal classes);
    # /denoise: the fuzzed app serves one VAE, no dae (tests/api/test_denoise.py)
    never = {
        "POST /api/models/{model}/encode",
        "GET /api/models/{model}/anomaly",
        "POST /api/denoise",
    }
    assert operations - succeeded == never, sorted(statuses.items())
    assert statuses["POST /api/denoise", 409] > 0  # no_dae, or not_a_dae when one is named
    assert statuses["POST /api/models/{model}/encode", 415] > 0  # random bytes: not an image
    assert statuses["GET /api/models/{model}/anomaly", 409] > 0
    assert sum(statuses.values()) > 20 * len(operations)
    assert not any(status >= 500 for _, status in statuses)


def test_valid_requests_were_refused_only_for_per_model_reasons(
    refusals: Counter[tuple[str, str]],
) -> None:
    """Guards check_valid_requests_are_accepted against passing vacuously: valid requests did
    reach it and were refused for the reasons listed (random model names at least)."""
    codes = {code for _, code in refusals}
    assert {"unknown_model", "unknown_item"} <= codes, sorted(refusals.items())
    assert codes <= set(PER_MODEL_REFUSALS)


def openapi_paths(app: FastAPI) -> dict[str, Any]:
    """The paths of the OpenAPI document the app serves, asked the way the fuzzing asked."""
    with asgi.get_client(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    paths: dict[str, Any] = response.json()["paths"]
    return paths

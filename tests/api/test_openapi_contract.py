"""The HTTP contract, pinned: the app's /openapi.json equals the committed copy
(tests/api/openapi.json) exactly, compared as parsed JSON.

A change to the API that is meant, and only that, updates the copy in the same commit:

    python -m tests.api.test_openapi_contract --write
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

COPY = Path(__file__).resolve().with_name("openapi.json")
REGENERATE = "python -m tests.api.test_openapi_contract --write"
MAX_SHOWN = 40  # differences listed in a failure; the count says how many there are


def differences(committed: Any, served: Any, where: str = "") -> Iterator[str]:
    """One line per place where the two documents differ, named by its path of keys
    (e.g. `paths./api/models.get.responses.200`)."""
    if isinstance(committed, dict) and isinstance(served, dict):
        for key in committed.keys() - served.keys():
            yield f"{where}.{key}: in the committed copy, not served".lstrip(".")
        for key in served.keys() - committed.keys():
            yield f"{where}.{key}: served, not in the committed copy".lstrip(".")
        for key in committed.keys() & served.keys():
            yield from differences(committed[key], served[key], f"{where}.{key}")
    elif isinstance(committed, list) and isinstance(served, list) and len(committed) == len(served):
        for i, (a, b) in enumerate(zip(committed, served, strict=True)):
            yield from differences(a, b, f"{where}[{i}]")
    elif committed != served:
        shown = f"committed {json.dumps(committed)[:200]}, served {json.dumps(served)[:200]}"
        yield f"{where.lstrip('.') or '(document)'}: {shown}"


def report(committed: Any, served: Any) -> str:
    found = sorted(differences(committed, served))
    lines = found[:MAX_SHOWN]
    if len(found) > MAX_SHOWN:
        lines.append(f"... and {len(found) - MAX_SHOWN} more")
    return (
        f"/openapi.json differs from {COPY.relative_to(COPY.parents[2])} in {len(found)} "
        "places:\n  " + "\n  ".join(lines) + "\nIf the API change is intended, regenerate the "
        f"copy with `{REGENERATE}` and commit it with the change; otherwise the change broke "
        "the HTTP contract."
    )


def test_openapi_equals_the_committed_copy(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    served = response.json()
    committed = json.loads(COPY.read_text())
    assert served == committed, report(committed, served)


def test_the_committed_copy_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    document = json.loads(COPY.read_text())
    assert document["openapi"].startswith("3.1")
    errors = [e.message for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_the_report_names_each_difference() -> None:
    committed = {"paths": {"/a": {"get": {"summary": "x"}}, "/b": {}}, "tags": [1, 2]}
    served = {"paths": {"/a": {"get": {"summary": "y"}}, "/c": {}}, "tags": [1, 3]}
    assert sorted(differences(committed, served)) == [
        'paths./a.get.summary: committed "x", served "y"',
        "paths./b: in the committed copy, not served",
        "paths./c: served, not in the committed copy",
        "tags[1]: committed 2, served 3",
    ]
    assert REGENERATE in report(committed, served)


def served_document() -> Any:
    """The document as the app serves it; it depends on the code only, not on the settings or
    the workspace (no model is loaded to get it)."""
    from app.config import Settings
    from app.main import create_app

    with tempfile.TemporaryDirectory() as workspace:
        app = create_app(Settings(workspace=Path(workspace)))
        response = TestClient(app).get("/openapi.json")  # no lifespan: nothing is loaded
        response.raise_for_status()
        return response.json()


def write_copy() -> None:
    COPY.write_text(json.dumps(served_document(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {COPY}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {REGENERATE}")
    write_copy()

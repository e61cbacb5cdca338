"""An imported model whose own code raises while serving: a 500 ``model_error`` naming the
step and the line (the one 500 the API answers on purpose), with the traceback in the log."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.config import Settings
from app.index.build import IndexParams
from app.main import create_app
from tests.models.usercode import line_of, save_weights, write_package

NAME = "digits-tinyvae-3"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """(client of an app serving the user's TinyVAE, the user's source file)."""
    root = tmp_path_factory.mktemp("model-error")
    with pytest.MonkeyPatch.context() as mp:
        # PCA only: UMAP's numba compilation is not what this is about (tests/index covers it).
        pca_only = functools.partial(IndexParams, projections=("pca",))
        mp.setattr("app.services.model_import.IndexParams", pca_only)
        mp.setattr("app.services.loaded.IndexParams", pca_only)
        module, source = write_package(root / "src", mp)
        save_weights(module, "TinyVAE", {"latent_dim": 3}, root / "w.safetensors")
        (root / "args.json").write_text(json.dumps({"latent_dim": 3}))
        workspace = root / "ws"
        args = ["--class", f"{module}:TinyVAE", "--weights", str(root / "w.safetensors")]
        args += ["--config", str(root / "args.json"), "--workspace", str(workspace)]
        data = ["--dataset", "digits", "--size", "200", "--image-size", "16", "--device", "cpu"]
        assert main(["import-model", *args, *data]) == 0
        settings = Settings(workspace=workspace, trust_code=True, device="cpu")
        with TestClient(create_app(settings)) as client:
            yield client, source


def test_a_users_model_failing_while_serving_is_a_500_model_error(
    served: tuple[TestClient, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, source = served
    api = f"/api/models/{NAME}"
    assert client.post(f"{api}/decode", json={"id": 3}).status_code == 200
    user_module = client.app.state.explorer.store.get(NAME).model.code.module  # type: ignore[attr-defined]
    user_module.fail_in = "decode"  # their decode now raises RuntimeError
    try:
        with caplog.at_level(logging.ERROR, logger="app.errors"):
            response = client.post(f"{api}/decode", json={"id": 3})
    finally:
        user_module.fail_in = None
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "model_error" and error["status"] == 500
    line = line_of(source, "MARK-decode")
    assert f"TinyVAE.decode failed at {source}:{line}" in error["message"]
    assert "RuntimeError: planted failure in decode" in error["message"]
    # The server's log has the user's traceback, down to their line.
    (record,) = [r for r in caplog.records if "model_error" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert f'File "{source}", line {line}' in caplog.text
    # The model works again: the failure was its own, not a broken server.
    assert client.post(f"{api}/decode", json={"id": 3}).status_code == 200

"""The example notebooks, executed headless as a notebook user would run them (nbclient and
ipykernel), from a folder that also holds a models.py, an app.py and a models/ package of the
user's own; the kernel is kept alive while the served page is checked."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def shadowing_folder(tmp_path: Path, notebook: str) -> Path:
    """The notebook in a folder whose own files are named like the explorer's packages."""
    (tmp_path / "app.py").write_text("WHO = 'the user app.py'\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("WHO = 'the user models package'\n")
    (tmp_path / "models.py").write_text("WHO = 'shadowed by the package'\n")
    shutil.copy(EXAMPLES / notebook, tmp_path / notebook)
    return tmp_path / notebook


@pytest.mark.parametrize("notebook", ["explore-embeddings.ipynb", "explore-your-autoencoder.ipynb"])
def test_notebook_runs_and_serves_its_page(
    notebook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shadowing_folder(tmp_path, notebook)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # as `pip install -e .` would
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "not stripped"
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
        urls = re.findall(r'src="(http://127\.0\.0\.1:\d+)/?"', html)
        assert len(urls) == 1, html
        with urllib.request.urlopen(f"{urls[0]}/api/models", timeout=10) as r:
            body = json.load(r)
        listed = body["models"] if isinstance(body, dict) else body
        assert [m["name"] for m in listed] in (["blobs"], ["my-ae"])
        with urllib.request.urlopen(urls[0], timeout=10) as r:
            assert b"<html" in r.read().lower()
    with pytest.raises(OSError):  # the kernel's exit stopped the server
        urllib.request.urlopen(f"{urls[0]}/api/health", timeout=3)

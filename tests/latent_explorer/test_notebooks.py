"""The example notebooks, executed headless as a notebook user would run them (nbclient and
ipykernel), from a folder that also holds a models.py, an app.py and a models/ package of the
user's own; the kernel is kept alive while Chromium opens the page the output shows."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.browser.conftest import new_explorer
from tests.browser.helpers import EMPTY_SPOT, ITEM_SPOT, TRACE_SIZES, image_size, wait_for_title

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


# Run after the notebook's own cells: the user's names still reach the user's files.
USERS_NAMES = "import models, app; print(models.WHO, '|', app.WHO)"


def check_page(context: Any, url: str, n_items: int, decodes: bool) -> None:
    """Chromium on the served page: every item drawn, a click on an item opens it and, where
    the entry decodes, a click between points decodes that place."""
    with contextmanager(new_explorer)(context, url, 1280, 800) as explorer:
        explorer.open()
        page = explorer.page
        assert explorer.js("() => window.latentExplorer.loaded.points.count") == n_items
        assert explorer.js(TRACE_SIZES)["points"] == n_items
        spot = explorer.js(ITEM_SPOT, 42)
        page.mouse.click(spot["x"], spot["y"])
        wait_for_title(page, "item #42 ")
        if decodes:
            spot = explorer.js(EMPTY_SPOT)
            assert spot is not None
            page.mouse.click(spot["x"], spot["y"])
            wait_for_title(page, "Map point")
            page.wait_for_function(
                "() => document.querySelector('#preview-image').naturalWidth > 0"
            )
            src = page.get_attribute("#preview-image", "src") or ""
            assert src.startswith("data:image/png;base64,")
            assert image_size(page, "#preview-image") == (8, 8)


@pytest.mark.parametrize(
    ("notebook", "n_items", "decodes"),
    [("explore-embeddings.ipynb", 300, False), ("explore-your-autoencoder.ipynb", 1797, True)],
)
def test_notebook_runs_and_serves_its_page(
    notebook: str,
    n_items: int,
    decodes: bool,
    context: Any,  # tests/latent_explorer/conftest.py: a Chromium context
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = shadowing_folder(tmp_path, notebook)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # as `pip install -e .` would
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "not stripped"
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    nb.cells.append(nbformat.v4.new_code_cell(USERS_NAMES))
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
        assert printed == "the user models package | the user app.py\n"
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
        urls = re.findall(r'src="(http://127\.0\.0\.1:\d+)/?"', html)
        assert len(urls) == 1, html
        with urllib.request.urlopen(f"{urls[0]}/api/models", timeout=10) as r:
            body = json.load(r)
        listed = body["models"] if isinstance(body, dict) else body
        assert [m["name"] for m in listed] in (["blobs"], ["my-ae"])
        check_page(context, urls[0], n_items, decodes)
    with pytest.raises(OSError):  # the kernel's exit stopped the server
        urllib.request.urlopen(f"{urls[0]}/api/health", timeout=3)

"""The denoising demo in the upload panel, in a real browser: a selected item corrupted, then
the corrupted input, the dae's output and the plain AE's output shown side by side, each with
the PSNR the API computed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Explorer, new_explorer
from tests.denoise_workspace import AE, DAE, build_denoise_workspace
from tests.serverproc import running_server

# What the demo shows: each figure's caption, PSNR text and its data-psnr, and its image loaded.
FIGURES = """() => Array.from(document.querySelectorAll('#denoise-result figure'), (f) => ({
  caption: f.querySelector('figcaption').firstChild.textContent,
  psnr: f.dataset.psnr,
  shown: f.querySelector('.psnr') ? f.querySelector('.psnr').textContent : null,
  loaded: f.querySelector('img').complete && f.querySelector('img').naturalWidth === 16,
  width: f.querySelector('img').getBoundingClientRect().width,
}))"""

# The same request, straight to the API from the page.
API_ANSWER = """async (item) => {
  const form = new FormData();
  const fields = {kind: 'mask', level: '0.4', seed: '2', item};
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return (await fetch('/api/denoise', {method: 'POST', body: form})).json();
}"""


@pytest.fixture(scope="module")
def denoise_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = build_denoise_workspace(tmp_path_factory.mktemp("denoise"))
    with running_server(root, tmp_path_factory.mktemp("denoise-server")) as process:
        yield process.base


@pytest.fixture
def page_on(context: Any, denoise_server: str) -> Iterator[Explorer]:
    yield from new_explorer(context, denoise_server, 1280, 800)


def test_the_demo_shows_three_images_with_their_psnr(page_on: Explorer) -> None:
    explorer, page = page_on, page_on.page
    explorer.open(f"?model={DAE}&tab=upload&here=i7")
    page.select_option("#denoise-kind", "mask")
    page.eval_on_selector(
        "#denoise-level", "(r) => { r.value = '0.4'; r.dispatchEvent(new Event('input')); }"
    )
    page.fill("#denoise-seed", "2")
    page.click("#denoise-run")
    page.wait_for_selector("#denoise-result:not([hidden]) figure")
    page.wait_for_function("() => [...document.querySelectorAll('#denoise-result img')]"
                           ".every((i) => i.complete && i.naturalWidth > 0)")  # fmt: skip
    figures = explorer.js(FIGURES)
    assert [f["caption"] for f in figures] == ["clean", "corrupted", "dae output", "ae output"]
    assert all(f["loaded"] and f["width"] >= 48 for f in figures), figures
    answer = explorer.js(API_ANSWER, "7")
    scored = {"corrupted": "corrupted", "dae output": "dae_output", "ae output": "ae_output"}
    for f in figures[1:]:
        psnr = answer[scored[f["caption"]]]["psnr"]
        assert float(f["psnr"]) == pytest.approx(psnr)
        assert f["shown"] == f"{psnr:.1f} dB"
    note = page.text_content("#denoise-note")
    assert note is not None and "item 7" in note and DAE in note and AE in note
    explorer.screenshot("denoise-demo")


def test_without_a_selected_item_the_demo_says_what_to_do(page_on: Explorer) -> None:
    explorer, page = page_on, page_on.page
    explorer.open(f"?model={DAE}&tab=upload")
    page.click("#denoise-run")
    error = page.wait_for_selector("#denoise .error:not([hidden])")
    assert "Select an item" in (error.text_content() or "")
    assert page.is_hidden("#denoise-result")

"""Precomputed embeddings in a real browser: no upload panel, no traversal, and clicks, drags and
interpolation paths show the nearest real items, labelled as such; without images, names."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from app.index.store import LatentIndex, load_index
from app.workspace import INDEX_DIR
from tests.browser.conftest import Explorer, new_explorer
from tests.browser.helpers import (
    EMPTY_SPOT,
    ITEM_SPOT,
    PLOT_BOX,
    wait_for_count,
    wait_for_title,
    wait_for_url,
)
from tests.decoderless import add_embeddings
from tests.serverproc import running_server

WITH_IMAGES = "emb-images"
PLAIN = "emb-plain"
DATA_URL = "data:image/png;base64,"


@dataclass
class Site:
    """A running server and the indexes of its entries, read from disk on their own."""

    base: str
    indexes: dict[str, LatentIndex]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A real server on a workspace of two embeddings entries, with and without images."""
    root = tmp_path_factory.mktemp("embeddings-workspace")
    add_embeddings(root, WITH_IMAGES, 400, with_images=True)
    add_embeddings(root, PLAIN, 300, with_images=False)
    indexes = {name: load_index(root / name / INDEX_DIR) for name in (WITH_IMAGES, PLAIN)}
    with running_server(root, tmp_path_factory.mktemp("embeddings-server")) as server:
        yield Site(server.base, indexes)


@pytest.fixture
def page_on(context: Any, site: Site) -> Iterator[Explorer]:
    yield from new_explorer(context, site.base, 1280, 800)


def nearest(index: LatentIndex, latent: Any) -> int:
    """The brute-force nearest item: euclidean, float64, ties to the lower id."""
    distances = ((index.latents.astype(np.float64) - np.asarray(latent)) ** 2).sum(1)
    return int(np.argmin(distances))


def thumbnail(base: str, item: int) -> bytes:
    with urllib.request.urlopen(f"{base}/api/models/{WITH_IMAGES}/items/{item}/thumbnail") as r:
        return bytes(r.read())


def png_of(src: str | None) -> bytes:
    assert src is not None and src.startswith(DATA_URL), (src or "")[:40]
    return base64.b64decode(src[len(DATA_URL) :])


def caption(explorer: Explorer) -> str:
    return str(explorer.page.inner_text("#preview-caption"))


SHOWN_BYTES = """async () => {
  const src = document.querySelector("#preview-image").src;
  const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
  return [src, Array.from(bytes)];
}"""


def test_clicks_and_drags_show_the_nearest_real_image(page_on: Explorer, site: Site) -> None:
    page, index = page_on.page, site.indexes[WITH_IMAGES]
    page_on.open(f"?model={WITH_IMAGES}")
    # Nothing to upload to (no encoder) and no traversal grid (no decoder).
    assert page.is_hidden("#tab-upload") and page.is_hidden("#panel-upload")
    assert page.is_hidden("#tab-traverse") and page.is_visible("#tab-interpolate")
    colours = page.eval_on_selector_all("#colour-select option", "os => os.map((o) => o.value)")
    assert "digit" in colours and "reconstruction_error" not in colours
    info = page.inner_text("#model-info")
    assert "EMBEDDINGS" in info and "16×16 grey" in info and "MSE" not in info
    assert "nearest real item" in page.inner_text("#map-hint")
    assert caption(page_on) == "Nearest real image"
    # The keyboard skips the hidden tabs.
    page.focus("#tab-neighbours")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.id") == "tab-export"

    # A click between points: the nearest item to the latent there, its own image, named.
    spot = page_on.js(EMPTY_SPOT)
    page.mouse.click(spot["x"], spot["y"])
    wait_for_title(page, "Map point")
    page.wait_for_function("() => document.querySelector('#preview-image').dataset.nearestId")
    point = page_on.js("() => window.latentExplorer.state.here.point")
    latent = index.inverses["umap"].transform(np.array([point], np.float32))[0]
    item = nearest(index, latent)
    assert page.get_attribute("#preview-image", "data-nearest-id") == str(item)
    assert caption(page_on) == f"Nearest real image: {index.item_names[item]}"
    assert png_of(page.get_attribute("#preview-image", "src")) == thumbnail(page_on.base, item)

    # A click on an item: that item, and no second "original" copy of it.
    spot = page_on.js(ITEM_SPOT, 42)
    page.mouse.click(spot["x"], spot["y"])
    wait_for_title(page, "item #42 ")
    page.wait_for_function(
        "() => document.querySelector('#preview-image').dataset.nearestId === '42'"
    )
    assert caption(page_on) == f"Nearest real image: {index.item_names[42]}"
    assert png_of(page.get_attribute("#preview-image", "src")) == thumbnail(page_on.base, 42)
    assert page.is_hidden("#preview-original-figure")

    # A drag streams nearest images over the WebSocket.
    box = page_on.js(PLOT_BOX)
    x0, y0 = box["x"] + 0.2 * box["w"], box["y"] + 0.3 * box["h"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x0 + 0.6 * box["w"] * i / 20, y0 + 0.4 * box["h"] * i / 20)
        page.wait_for_timeout(10)
    page.wait_for_function(
        "() => Number(document.querySelector('#preview-image').dataset.frames) >= 5"
    )
    dragged = page.get_attribute("#preview-image", "data-nearest-id")
    assert dragged and caption(page_on).startswith("Nearest real image: digit-")
    # Binary frames: the image is the frame's PNG bytes, behind an object URL.
    src, png = page_on.js(SHOWN_BYTES)
    assert src.startswith("blob:"), src
    assert bytes(png) == thumbnail(page_on.base, int(dragged))
    page.mouse.up()
    wait_for_title(page, "Map point")
    page_on.screenshot("nearest-click-1280x800")


def test_an_interpolation_shows_each_steps_nearest_image(page_on: Explorer, site: Site) -> None:
    page, index = page_on.page, site.indexes[WITH_IMAGES]
    page_on.open(f"?model={WITH_IMAGES}&tab=interpolate")
    for slot, item in (("#interp-start", 12), ("#interp-end", 201)):
        page.locator(f"{slot} .item-input").fill(str(item))
        page.locator(f"{slot} .item-input").press("Enter")
        page.wait_for_selector(f"{slot}[data-ref='i{item}']")
    page.fill("#interp-steps", "8")
    page.press("#interp-steps", "Tab")
    page.click("#interp-run")
    wait_for_count(page, "#interp-strip img", 8)
    assert "Nearest real item at each step" in page.inner_text("#interp-source")
    shown = page.eval_on_selector_all(
        "#interp-strip img", "imgs => imgs.map((i) => [i.dataset.nearestId, i.src, i.title])"
    )
    # The same path from the API: each frame is the brute-force nearest item to its step.
    body = {"start": {"id": 12}, "end": {"id": 201}, "steps": 8, "method": "slerp"}
    request = urllib.request.Request(
        f"{page_on.base}/api/models/{WITH_IMAGES}/interpolate",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        path = json.load(response)
    expected = [nearest(index, latent) for latent in path["latents"]]
    assert [int(item) for item, _, _ in shown] == expected == path["nearest_ids"]
    assert (expected[0], expected[-1]) == (12, 201) and len(set(expected)) >= 3
    for (item, src, title), i in zip(shown, range(8), strict=True):
        assert png_of(src) == thumbnail(page_on.base, int(item))
        # the frame's title names the image, then how far the path's latent is from the data
        placement = path["data_distances"][i]["placement"]
        name = index.item_names[int(item)]
        assert title.startswith(f"frame {i + 1}: nearest real image: {name} · {placement}")
    # Scrubbing to a frame shows it in the preview, labelled as the nearest real image.
    page.locator("#interp-strip img[data-index='3']").click()
    page.wait_for_function(
        "(id) => document.querySelector('#preview-image').dataset.nearestId === id",
        arg=str(expected[3]),
    )
    assert caption(page_on) == f"Nearest real image: {index.item_names[expected[3]]}"
    page_on.screenshot("nearest-interpolate-1280x800")
    # A link to that frame holds a raw latent, which is not decoded without a decoder (409):
    # reopened, the preview shows the latent's nearest item instead.
    wait_for_url(page, "here=z:")
    page_on.open("?" + page.url.split("?", 1)[1])
    latent = page_on.js("() => window.latentExplorer.state.here.latent")
    item = nearest(index, latent)
    page.wait_for_function(
        "(id) => document.querySelector('#preview-image').dataset.nearestId === id", arg=str(item)
    )
    assert caption(page_on) == f"Nearest real image: {index.item_names[item]}"
    assert page.get_attribute("#preview-image", "src") == (
        f"/api/models/{WITH_IMAGES}/items/{item}/thumbnail"
    )


def test_without_images_items_are_named(page_on: Explorer, site: Site) -> None:
    page, index = page_on.page, site.indexes[PLAIN]
    page_on.open(f"?model={PLAIN}&tab=neighbours")
    assert "no images" in page.inner_text("#model-info")
    # Hover: the item's name and metadata, no thumbnail (it would be a 404).
    spot = page_on.js(ITEM_SPOT, 7)
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_selector("#tooltip:not([hidden])")
    page.wait_for_function(
        "(name) => document.querySelector('#tooltip').textContent.includes(name)",
        arg=str(index.item_names[7]),
    )
    assert page.locator("#tooltip img").count() == 0
    card = page.inner_text("#tooltip")
    assert not card.startswith("null") and card.lstrip().startswith("id"), card
    # A click names the nearest item; the neighbours gallery lists names, not images.
    page.mouse.click(spot["x"], spot["y"])
    wait_for_title(page, "item #7 ")
    page.wait_for_function(
        "(name) => document.querySelector('#preview-caption').textContent.endsWith(name)",
        arg=str(index.item_names[7]),
    )
    assert caption(page_on) == f"Nearest real item (no image): {index.item_names[7]}"
    assert page.get_attribute("#preview-image", "src") is None
    wait_for_count(page, "#nn-gallery button", 8)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#nn-gallery .item-name')]"
        ".every((n) => n.textContent.startsWith('digit-'))"
    )
    assert page.locator("#nn-gallery img").count() == 0
    assert page.locator("#nn-gallery .item-name").count() == 8
    assert not any("/thumbnail" in url for url in page_on.log.requests)

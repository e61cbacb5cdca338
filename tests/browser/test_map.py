"""The map in a real browser: what it shows, probing by click and by drag, narrow screens."""

from __future__ import annotations

from playwright.sync_api import WebSocket

from app.index.projection import DEFAULT_PROJECTION, PROJECTIONS
from tests.browser.conftest import Explorer
from tests.browser.helpers import (
    EMPTY_SPOT,
    ITEM_SPOT,
    PLOT_BOX,
    TRACE_SIZES,
    image_size,
    wait_for_map,
    wait_for_title,
    wait_for_url,
)
from tests.serverproc import get_json

# Each projection choice of the header: [name, label, shown].
PROJECTION_CHOICES = """() => [...document.querySelectorAll("#projection-group input")].map(
  (r) => [r.value, r.closest("label").textContent.trim(), !r.closest("label").hidden])"""


def wait_for_preview_change(explorer: Explorer, before: str | None) -> str:
    explorer.page.wait_for_function(
        "(before) => { const s = document.querySelector('#preview-image').getAttribute('src');"
        " return s && s !== before; }",
        arg=before,
    )
    return explorer.page.get_attribute("#preview-image", "src") or ""


def test_projection_choices_are_the_registry_and_the_model(
    explorer: Explorer, model_name: str
) -> None:
    """Every registered projection is offered by its label (the default first), those the model
    has are shown, and the page opens on the default the server names: adding a projection to
    the registry needs no change to the page."""
    explorer.open()
    choices = explorer.js(PROJECTION_CHOICES)
    assert {name: label for name, label, _ in choices} == {
        name: projection.label for name, projection in PROJECTIONS.items()
    }
    assert choices[0][0] == DEFAULT_PROJECTION
    models = get_json(f"{explorer.base}/api/models")["models"]
    model = next(m for m in models if m["name"] == model_name)
    assert {name for name, _, shown in choices if shown} == set(model["projections"])
    checked = explorer.page.eval_on_selector("input[name=projection]:checked", "r => r.value")
    assert checked == model["default_projection"]
    assert explorer.js("() => document.getElementById('map').dataset.projection") == checked
    # A model without a projection: its choice is hidden and cannot be picked.
    explorer.js(
        "async () => (await import('/static/js/projections.js')).showProjections(['pca'], 'pca')"
    )
    assert [name for name, _, shown in explorer.js(PROJECTION_CHOICES) if shown] == ["pca"]
    assert explorer.page.is_disabled(f"input[name=projection][value={DEFAULT_PROJECTION}]")


def test_page_shows_model_quality_and_every_point(explorer: Explorer, model_name: str) -> None:
    explorer.open()
    page = explorer.page
    assert page.input_value("#model-select") == model_name
    info = page.inner_text("#model-info")
    assert "latent 4" in info and "16×16 grey" in info and "MSE" in info and "kNN" in info
    # the objective measures: kNN on the held-out split, probe and uniformity, each explained
    knn = page.locator("#model-info .figure", has_text="kNN")
    assert knn.inner_text().endswith("% held-out")
    assert "scored on 359 items the encoder never trained on" in (knn.get_attribute("title") or "")
    assert "probe " in info and "unif -" in info
    assert "denoising at gaussian:0.3" in (
        page.locator("#model-info .figure", has_text="MSE").get_attribute("title") or ""
    )
    assert page.is_checked("input[name=projection][value=umap]")
    traces = explorer.js("() => document.getElementById('map').data.map((t) => [t.type, t.name])")
    assert traces[0] == ["scattergl", "points"]
    n_items = explorer.js("() => window.latentExplorer.loaded.points.count")
    assert explorer.js(TRACE_SIZES)["points"] == n_items == 1797
    # The legend: one chip per digit; hiding a class removes exactly its points.
    assert page.locator("#legend .chip").count() == 10
    chip = page.locator("#legend .chip[data-category='3']")
    count = int(chip.locator(".count").inner_text())
    chip.click()
    page.wait_for_selector("#legend .chip[data-category='3'][aria-pressed='false']")
    assert explorer.js(TRACE_SIZES)["points"] == n_items - count
    wait_for_url(page, "hide=3")
    page.locator("#legend .chip.all").click()
    page.wait_for_selector("#legend .chip.all", state="detached")
    assert explorer.js(TRACE_SIZES)["points"] == n_items
    # Hovering a point shows its thumbnail and metadata.
    spot = explorer.js(ITEM_SPOT, 10)
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_selector("#tooltip:not([hidden]) img")
    assert "/items/" in (page.get_attribute("#tooltip img", "src") or "")
    assert "digit" in page.inner_text("#tooltip")
    explorer.screenshot("map-1280x800")


def test_click_between_points_decodes_that_place(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    spot = explorer.js(EMPTY_SPOT)
    assert spot is not None and spot["nearest"] >= 14
    page.mouse.click(spot["x"], spot["y"])
    src = wait_for_preview_change(explorer, None)
    assert src.startswith("data:image/png;base64,")
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth > 0")
    assert image_size(page, "#preview-image") == (16, 16)
    assert page.inner_text("#preview-title").startswith("Map point")
    assert not page.is_hidden("#handle")
    # A click on a point decodes that item instead.
    spot = explorer.js(ITEM_SPOT, 42)
    page.mouse.click(spot["x"], spot["y"])
    wait_for_title(page, "item #42 ")
    wait_for_url(page, "here=i42")
    explorer.screenshot("click-1280x800")


# Moves the pointer once per animation frame for a second, as a person dragging does, and
# counts the frames the stream answered with.
DRAG_FOR_A_SECOND = """async () => {
  const gd = document.getElementById("map");
  const r = gd.getBoundingClientRect();
  const s = gd._fullLayout._size;
  const image = document.querySelector("#preview-image");
  const at = (f) => ({ clientX: r.left + s.l + s.w * (0.2 + 0.6 * f),
                       clientY: r.top + s.t + s.h * (0.5 + 0.3 * Math.sin(6 * f)),
                       bubbles: true, button: 0, pointerId: 1, isPrimary: true });
  gd.dispatchEvent(new PointerEvent("pointerdown", at(0)));
  const before = Number(image.dataset.frames);
  const t0 = performance.now();
  let moves = 0;
  await new Promise((done) => {
    const step = (t) => {
      const f = (t - t0) / 1000;
      if (f >= 1) return done();
      window.dispatchEvent(new PointerEvent("pointermove", at(f)));
      moves += 1;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  const seconds = (performance.now() - t0) / 1000;
  const frames = Number(image.dataset.frames) - before;
  window.dispatchEvent(new PointerEvent("pointerup", at(1)));
  return { frames, moves, seconds };
}"""


FRAME_SHOWN = """async () => {
  const image = document.querySelector("#preview-image");
  await image.decode();
  return { src: image.src, size: [image.naturalWidth, image.naturalHeight] };
}"""
FRAME_SETTLED = (
    "() => document.querySelector('#preview-image').src.startsWith('data:image/png;base64,')"
)


def test_dragging_streams_frames_through_the_websocket(explorer: Explorer, model_name: str) -> None:
    page = explorer.page
    sockets: list[str] = []
    payloads: list[str | bytes] = []

    def watch(ws: WebSocket) -> None:
        sockets.append(ws.url)
        ws.on("framereceived", lambda payload: payloads.append(payload))

    page.on("websocket", watch)
    explorer.open()
    box = explorer.js(PLOT_BOX)
    x0, y0 = box["x"] + 0.2 * box["w"], box["y"] + 0.3 * box["h"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    moves = 30
    for i in range(1, moves + 1):
        page.mouse.move(x0 + 0.6 * box["w"] * i / moves, y0 + 0.4 * box["h"] * i / moves)
        page.wait_for_timeout(10)
    page.wait_for_timeout(100)
    frames = int(page.get_attribute("#preview-image", "data-frames") or 0)
    # The frames are binary (a JSON header and PNG bytes), shown from an object URL.
    shown = explorer.js(FRAME_SHOWN)
    page.mouse.up()
    # A real mouse: nearly every move is answered with a frame (latest wins when they queue).
    assert frames >= moves // 2, f"{frames} frames for {moves} moves"
    assert len(sockets) == 1 and "frames=binary" in sockets[0], sockets
    assert len(payloads) >= frames and all(isinstance(p, bytes) for p in payloads), payloads[:1]
    assert shown["src"].startswith("blob:"), shown
    shape = get_json(f"{explorer.base}/api/models/{model_name}")["image_shape"]
    assert shown["size"] == shape[:0:-1], shown  # the decoded PNG, drawn (W, H)
    page.wait_for_function(FRAME_SETTLED)  # the release decodes once more, as a data URL
    # The release settles on the last place, decoded once more with its positions.
    wait_for_title(page, "Map point")
    wait_for_url(page, "here=p:umap:")
    # Dragging at the display's pace is answered at 30 frames a second or more.
    rate = explorer.js(DRAG_FOR_A_SECOND)
    assert rate["frames"] / rate["seconds"] >= 30, rate


def test_narrow_screen_stacks_map_and_panels(narrow_explorer: Explorer) -> None:
    narrow_explorer.open()
    page = narrow_explorer.page
    width = narrow_explorer.js("() => document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways: {width}px wide"
    map_box = page.locator("#map").bounding_box()
    panels_box = page.locator("#panels").bounding_box()
    assert map_box is not None and panels_box is not None
    assert map_box["width"] >= 360 and map_box["height"] >= 300
    assert panels_box["y"] > map_box["y"] + map_box["height"]  # stacked below the map
    # The map scrolled to the top of the screen, clear of the preview docked at the bottom.
    narrow_explorer.js("() => document.getElementById('map-wrap').scrollIntoView()")
    spot = narrow_explorer.js(EMPTY_SPOT)
    page.mouse.click(spot["x"], spot["y"])
    wait_for_preview_change(narrow_explorer, None)
    narrow_explorer.screenshot("narrow-400x800")


def test_controls_are_keyboard_reachable(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    page.focus("#tab-interpolate")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.id") == "tab-arithmetic"
    assert page.is_visible("#panel-arithmetic") and page.is_hidden("#panel-interpolate")
    page.keyboard.press("End")
    assert page.is_visible("#panel-topology")
    # The map itself: arrow keys move the probe and decode where it lands.
    page.focus("#map-wrap")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#preview-image').getAttribute('src')")
    assert page.inner_text("#preview-title") == "Map point"
    first = page.inner_text("#preview-sub")
    page.keyboard.press("Shift+ArrowUp")
    page.wait_for_function(
        "(first) => document.querySelector('#preview-sub').textContent !== first", arg=first
    )
    # Projection radios and the colour select answer the keyboard too.
    page.focus("input[name=projection][value=umap]")
    page.keyboard.press("ArrowRight")
    wait_for_map(page, "projection", "pca")
    wait_for_url(page, "proj=pca")

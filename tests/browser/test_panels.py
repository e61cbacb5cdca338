"""The panels in a real browser: interpolation, arithmetic, uploads, neighbours, traversal."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path

from PIL import Image, ImageDraw

from tests.browser.conftest import Explorer
from tests.browser.helpers import (
    ITEM_SPOT,
    LABEL_BOX,
    TRACE_SIZES,
    image_size,
    png_bytes,
    wait_for_count,
    wait_for_title,
)


def set_item(explorer: Explorer, slot: str, item: int) -> None:
    field = explorer.page.locator(f"{slot} .item-input")
    field.fill(str(item))
    field.press("Enter")
    explorer.page.wait_for_selector(f"{slot}[data-ref='i{item}']")


def click_item(explorer: Explorer, item: int) -> None:
    spot = explorer.js(ITEM_SPOT, item)
    explorer.page.mouse.click(spot["x"], spot["y"])
    wait_for_title(explorer.page, f"item #{item} ")


def box_select(explorer: Explorer, label: str) -> int:
    """Drag a box over the middle of one class with the Box tool; the number selected."""
    page = explorer.page
    page.locator("#tool-group label", has_text="Box").click()
    box = explorer.js(LABEL_BOX, label)
    page.mouse.move(box["x0"] - 2, box["y0"] - 2)
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=4)
    page.mouse.move(box["x1"] + 2, box["y1"] + 2, steps=4)
    page.mouse.up()
    page.wait_for_function("() => window.latentExplorer.state.selection.length > 0")
    return int(explorer.js("() => window.latentExplorer.state.selection.length"))


def test_interpolation_draws_its_path_and_strip(explorer: Explorer) -> None:
    explorer.open()
    page = explorer.page
    set_item(explorer, "#interp-start", 0)
    click_item(explorer, 42)
    page.locator("#interp-end [data-action=current]").click()
    page.wait_for_selector("#interp-end[data-ref='i42']")
    page.fill("#interp-steps", "6")
    page.press("#interp-steps", "Tab")
    page.click("#interp-run")
    wait_for_count(page, "#interp-strip img", 6)
    page.wait_for_function("() => document.querySelector('#interp-strip img').naturalWidth > 0")
    assert image_size(page, "#interp-strip img") == (16, 16)
    assert explorer.js(TRACE_SIZES)["path"] == 6
    # The slider scrubs along the path: the frame shows in the preview and on the map.
    page.focus("#interp-slider")
    page.keyboard.press("End")
    page.wait_for_function(
        "() => document.querySelector('#preview-title').textContent.includes('frame 6 of 6')"
    )
    assert page.get_attribute("#interp-strip img.current", "data-index") == "5"
    assert explorer.js(TRACE_SIZES)["frame"] == 1
    explorer.screenshot("interpolate-1280x800")
    with page.expect_download() as download:
        page.click("#interp-png")
    with Image.open(download.value.path()) as strip:
        assert strip.size[0] > 6 * strip.size[1] * 0.9  # six frames side by side


def test_arithmetic_with_attribute_and_group_vectors(explorer: Explorer) -> None:
    explorer.open("?tab=arithmetic")
    page = explorer.page
    set_item(explorer, "#arith-start", 3)
    page.click("#arith-add")
    page.locator(".term select").select_option("digit:0-1")
    slider = page.locator(".term input[type=range]")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert page.locator(".term output").inner_text() == "1.5"
    page.wait_for_selector("#arith-result:not([hidden])")
    wait_for_count(page, "#arith-neighbours button", 8)
    assert (page.get_attribute("#arith-image", "src") or "").startswith("data:image/png;base64,")
    sizes = explorer.js(TRACE_SIZES)
    assert sizes["result"] == 1 and sizes["neighbours"] == 8
    first_result = page.get_attribute("#arith-image", "src")
    # A vector made on the page from two box selections: group A minus group B.
    n_a = box_select(explorer, "0")
    page.click("#to-group-a")
    n_b = box_select(explorer, "6")
    page.click("#to-group-b")
    assert explorer.js(TRACE_SIZES)["groupA"] == n_a and explorer.js(TRACE_SIZES)["groupB"] == n_b
    page.fill("#arith-vector-name", "zero not six")
    page.click("#arith-make")
    page.wait_for_selector(".term .term-name")
    assert "zero not six" in page.inner_text(".term .term-name")
    page.wait_for_function(
        "(before) => document.querySelector('#arith-image').getAttribute('src') !== before",
        arg=first_result,
    )
    explorer.screenshot("arithmetic-1280x800")
    # The analogy form: a - b + c, computed as soon as all three are set (issue 17).
    page.locator("label", has_text="Analogy").click()
    before = page.get_attribute("#arith-image", "src")
    for slot, item in (("#arith-a", 1), ("#arith-b", 2), ("#arith-c", 3)):
        set_item(explorer, slot, item)
    page.wait_for_function(
        "(before) => document.querySelector('#arith-image').getAttribute('src') !== before",
        arg=before,
    )
    assert page.locator("#arith-neighbours button").count() == 8


def item_png(explorer: Explorer, model: str, item: int, tmp_path: Path) -> Path:
    """A dataset item's image, enlarged by PIL to 48x48, as a real PNG file."""
    url = f"{explorer.base}/api/models/{model}/items/{item}/image"
    with urllib.request.urlopen(url, timeout=5) as response:
        with Image.open(io.BytesIO(response.read())) as original:
            image = original.convert("L").resize((48, 48))
    path = tmp_path / f"item-{item}.png"
    path.write_bytes(png_bytes(image))
    return path


def test_upload_places_images_on_the_map(
    explorer: Explorer, model_name: str, tmp_path: Path
) -> None:
    digit = item_png(explorer, model_name, 5, tmp_path)
    odd = Image.new("L", (40, 40), 0)
    ImageDraw.Draw(odd).rectangle((4, 4, 36, 36), outline=255, width=3)
    square = tmp_path / "square.png"
    square.write_bytes(png_bytes(odd))
    explorer.open("?tab=upload")
    page = explorer.page
    page.set_input_files("#upload-input", [str(digit), str(square)])
    wait_for_count(page, ".upload-card", 2)
    assert explorer.js(TRACE_SIZES)["uploads"] == 2
    for card in page.locator(".upload-card").all():
        assert card.locator(".gallery button").count() == 8
        assert "Anomaly score" in card.inner_text()
    # The upload on top (the last file) is shown, its neighbours ringed on the map.
    wait_for_title(page, "upload:")
    assert explorer.js(TRACE_SIZES)["neighbours"] == 8
    assert image_size(page, ".upload-card img") == (16, 16)
    explorer.screenshot("upload-1280x800")
    # A file that is not an image: the API's message, in the page.
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"these are notes, not pixels")
    page.set_input_files("#upload-input", [str(junk)])
    # Its own error line (issue 17: one line per refused file, next to the others' cards).
    error = page.locator("#upload-failures li")
    error.wait_for(state="visible")
    assert "notes.png" in error.inner_text() and "not an image" in error.inner_text()
    explorer.log.expect_error("415")


def test_neighbours_follow_clicks_with_k_and_metric(explorer: Explorer) -> None:
    explorer.open("?tab=neighbours")
    page = explorer.page
    click_item(explorer, 42)
    wait_for_count(page, "#nn-gallery button", 8)
    ids = [b.get_attribute("data-id") for b in page.locator("#nn-gallery button").all()]
    assert "42" not in ids  # an item is not its own neighbour
    page.fill("#nn-k", "5")
    page.press("#nn-k", "Tab")
    wait_for_count(page, "#nn-gallery button", 5)
    assert explorer.js(TRACE_SIZES)["neighbours"] == 5
    page.select_option("#nn-metric", "cosine")
    page.wait_for_function("() => location.href.includes('metric=cosine')")
    wait_for_count(page, "#nn-gallery button", 5)
    # Picking a neighbour makes it the current place.
    first = page.locator("#nn-gallery button").first
    target = first.get_attribute("data-id")
    first.click()
    wait_for_title(page, f"item #{target} ")


def test_traversal_grid_of_every_dimension(explorer: Explorer) -> None:
    explorer.open("?tab=traverse")
    page = explorer.page
    set_item(explorer, "#trav-start", 7)
    page.click("#trav-run")
    page.wait_for_selector("#trav-result:not([hidden])")
    assert page.locator("#trav-grid tbody tr").count() == 4  # latent size
    assert page.locator("#trav-grid tbody tr").first.locator("img").count() == 7
    headers = page.locator("#trav-grid thead th").all_inner_texts()
    assert headers[1] == "-3.0σ" and headers[-1] == "+3.0σ"
    explorer.screenshot("traverse-1280x800")
    with page.expect_download() as download:
        page.click("#trav-png")
    with Image.open(download.value.path()) as grid:
        assert grid.size[0] > grid.size[1]  # 7 columns, 4 rows
    # Rows along the arithmetic tab's attribute vectors instead of the dimensions.
    explorer.open("?tab=traverse&t=1~a:digit:0-1&t=1~a:digit=5&tm=attrs&ts=5&t0=i7")
    page.click("#trav-run")
    wait_for_count(page, "#trav-grid tbody tr", 2)
    assert page.locator("#trav-grid tbody th").all_inner_texts() == ["digit:0-1", "digit=5"]
    assert page.locator("#trav-grid tbody tr").first.locator("img").count() == 5

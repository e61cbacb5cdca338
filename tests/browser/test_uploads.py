"""Uploads as a practitioner meets them (issue 17): a bad file among good ones costs only its
own card, the card on top is the one shown, the stars on the map say which file they are, the
score separates a clean digit from a blank page and from noise, and a drawing with the
dataset's colours the other way round is noticed and can be inverted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Explorer
from tests.browser.helpers import TRACE_SIZES, png_bytes, wait_for_count, wait_for_title
from tests.browser.test_panels import item_png

# Client pixel of upload star i.
STAR_SPOT = """(i) => {
  const { map } = window.latentExplorer;
  const t = document.getElementById('map').data.find((d) => d.name === 'uploads');
  const rect = document.getElementById('map').getBoundingClientRect();
  const [px, py] = map.toPixel(t.x[i], t.y[i]);
  return { x: rect.left + px, y: rect.top + py };
}"""


def write_png(path: Path, image: Image.Image) -> Path:
    path.write_bytes(png_bytes(image))
    return path


def test_a_bad_file_costs_only_its_own_card(
    explorer: Explorer, model_name: str, tmp_path: Path
) -> None:
    five = item_png(explorer, model_name, 5, tmp_path)
    three = item_png(explorer, model_name, 3, tmp_path)
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"these are notes, not pixels")
    explorer.open("?tab=upload")
    page = explorer.page
    page.set_input_files("#upload-input", [str(five), str(junk), str(three)])
    wait_for_count(page, ".upload-card", 2)
    failures = page.locator("#upload-failures li").all_inner_texts()
    assert len(failures) == 1 and failures[0].startswith("notes.png"), failures
    explorer.log.expect_error("415")
    # The card on top is the last good file, and it is the one shown and ringed.
    top = page.locator(".upload-card").first
    assert top.inner_text().count("item-3.png") == 1
    assert "current" in (top.get_attribute("class") or "")
    wait_for_title(page, "upload: item-3.png")
    assert explorer.js(TRACE_SIZES)["neighbours"] == 8
    # The input thumbnail has an edge (a white drawing on the white card).
    border = explorer.js(
        "() => parseFloat(getComputedStyle("
        "document.querySelector('.upload-card img.input')).borderTopWidth)"
    )
    assert border >= 1
    # Each star names its file when hovered, with its picture.
    spot = explorer.js(STAR_SPOT, 0)
    page.mouse.move(spot["x"] + 30, spot["y"] + 30)
    page.mouse.move(spot["x"], spot["y"], steps=3)
    page.wait_for_selector("#tooltip:not([hidden])")
    assert "item-5.png" in page.inner_text("#tooltip")
    assert page.locator("#tooltip img").count() == 1
    explorer.screenshot("uploads-1280x800")
    assert_accessible(page, "the upload tab with cards and a refused file")


def score_of(explorer: Explorer, name: str) -> str:
    card = explorer.page.locator(".upload-card", has_text=name)
    return card.locator(".score").inner_text()


def test_the_score_separates_a_digit_a_blank_page_and_noise(
    explorer: Explorer, model_name: str, tmp_path: Path
) -> None:
    digit = item_png(explorer, model_name, 7, tmp_path)
    blank = write_png(tmp_path / "blank.png", Image.new("L", (48, 48), 255))
    rng = np.random.default_rng(0)
    noise = write_png(
        tmp_path / "noise.png",
        Image.fromarray((rng.integers(0, 2, (16, 16)) * 255).astype(np.uint8)),
    )
    explorer.open("?tab=upload")
    page = explorer.page
    page.set_input_files("#upload-input", [str(digit), str(blank), str(noise)])
    wait_for_count(page, ".upload-card", 3)
    scores = {name: score_of(explorer, name) for name in ("item-7.png", "blank.png", "noise.png")}
    assert len(set(scores.values())) == 3, scores
    ratios = {name: float(text.split("×")[0]) for name, text in scores.items()}
    assert ratios["item-7.png"] < 3 < min(ratios["blank.png"], ratios["noise.png"]), ratios


def test_an_upload_with_the_colours_the_other_way_round_can_be_inverted(
    explorer: Explorer, model_name: str, tmp_path: Path
) -> None:
    light = item_png(explorer, model_name, 4, tmp_path)
    with Image.open(light) as image:
        dark_on_white = write_png(tmp_path / "drawing.png", ImageOps.invert(image.convert("L")))
    explorer.open("?tab=upload")
    page = explorer.page
    page.set_input_files("#upload-input", [str(dark_on_white)])
    wait_for_count(page, ".upload-card", 1)
    hint = page.locator(".upload-card .polarity")
    hint.wait_for(state="visible")
    assert "opposite of the dataset" in hint.inner_text()
    hint.locator("button").click()
    wait_for_count(page, ".upload-card", 2)
    wait_for_title(page, "upload: drawing (inverted).png")
    page.wait_for_selector(".upload-card[data-index='1'][data-polarity='same']")
    assert page.locator(".upload-card").first.locator(".polarity").is_hidden()

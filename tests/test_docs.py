"""The documentation holds together: the README stays short enough to read to the end, and
every relative link in README.md and docs/*.md reaches a file, and a heading when it names an
anchor (GitHub's anchors: the heading's text, lower case, punctuation dropped, spaces as
hyphens, a repeated heading numbered -1, -2, ...)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in HEADING.finditer(FENCE.sub("", text)):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """Every relative link of ``document`` that reaches no file, or no heading of its anchor;
    each named by the document's path from ``root``."""
    broken: list[str] = []
    for target in LINK.findall(prose(document.read_text())):
        if SCHEME.match(target):
            continue  # http:, https:, mailto: are not checked (no network in the tests)
        path_part, _, anchor = target.partition("#")
        path = (document.parent / unquote(path_part)).resolve() if path_part else document
        where = f"{document.relative_to(root)}: ({target})"
        if not path.exists():
            broken.append(f"{where} reaches no file")
        elif anchor and path.suffix == ".md" and unquote(anchor) not in anchors(path.read_text()):
            broken.append(f"{where}: {path.name} has no heading with the anchor #{anchor}")
    return broken


def test_the_readme_is_short() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines, at most {MAX_README_LINES}: move the detail into docs/"
    )


def test_the_readme_keeps_the_two_commands_and_the_screenshot() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
    assert "(docs/img/page.png)" in text


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert not (broken := broken_links(document)), "broken links:\n" + "\n".join(broken)


def test_the_docs_have_links_to_check() -> None:
    """The link check sees the links (a pattern that matched nothing would pass everything)."""
    text = prose(README.read_text())
    targets = LINK.findall(text)
    assert "docs/guide.md" in targets and "docs/design.md" in targets


def test_anchors_follow_github(tmp_path: Path) -> None:
    assert slug("Your own images with metadata: `folder:PATH` + `metadata.csv`") == (
        "your-own-images-with-metadata-folderpath--metadatacsv"
    )
    assert slug("Load and faults (`tests/load/`)") == "load-and-faults-testsload"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1", "a-2"}
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nothing) [gone](missing.md) `[x](no.md)`\n")
    assert broken_links(page, tmp_path) == [
        "page.md: (#nothing): page.md has no heading with the anchor #nothing",
        "page.md: (missing.md) reaches no file",
    ]

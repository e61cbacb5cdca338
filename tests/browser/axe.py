"""axe-core in the browser tests: the engine browsers' dev tools use, from the
axe-playwright-python package (a test dependency that ships axe.min.js), run at WCAG 2.1 AA
plus best practices. Nothing is fetched: the script is evaluated into the page."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def axe_source() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def violations(page: Any) -> list[str]:
    """Each violation as one line: rule, impact, and the elements it names."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "(tags) => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:6])
        for v in result["violations"]
    ]


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert found == [], f"axe-core on {where}:\n" + "\n".join(found)

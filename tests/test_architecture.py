"""The shape of the code, read from the source with `ast` (nothing is imported): no import
circle among the modules of app/ and models/, and no function there longer than 80 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "models")
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    """One module importing another: where it says so, and what it names."""

    source: str  # the importing module, e.g. "models.base"
    target: str  # the imported module of app/ or models/, e.g. "models.vae"
    line: int


def module_files() -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by its __init__.py)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside functions and classes; imports under
    `if TYPE_CHECKING:` are left out, since they never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and is_type_checking(node):
            for child in node.orelse:
                yield from import_nodes(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from import_nodes(node)


def imports_of(module: str, source: str, is_package: bool, modules: set[str]) -> list[Import]:
    """The modules among ``modules`` that ``module`` (its source text) imports. `from x import
    y` where x.y is a module counts as importing x.y; otherwise as importing x."""
    found: list[Import] = []
    for node in import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                # Relative: from the module's package, one level up per extra dot.
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for name in names:
            if name in modules and name != module:
                found.append(Import(module, name, node.lineno))
    return found


def import_graph() -> dict[str, list[Import]]:
    files = module_files()
    names = set(files)
    return {
        module: imports_of(module, path.read_text(), path.name == "__init__.py", names)
        for module, path in files.items()
    }


def circles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph[node]:
            if edge.target not in index:
                visit(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(circle: list[str], graph: dict[str, list[Import]]) -> str:
    files = module_files()
    edges = sorted(
        {
            f"{files[edge.source].relative_to(ROOT)}:{edge.line} imports {edge.target}"
            for member in circle
            for edge in graph[member]
            if edge.target in circle
        }
    )
    return " <-> ".join(circle) + "\n    " + "\n    ".join(edges)


def long_functions() -> list[str]:
    """Every function (methods and nested functions included) over the limit, with its length
    from `def` to its last line."""
    found: list[str] = []
    for path in module_files().values():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                lines = end - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    where = path.relative_to(ROOT)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return sorted(found)


def test_the_graph_sees_imports_inside_functions_and_submodules() -> None:
    """The walker itself: a function-level import and `from package import submodule` count."""
    modules = {"pkg", "pkg.a", "pkg.b", "pkg.c"}
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from pkg import b\n"
        "if TYPE_CHECKING:\n"
        "    from pkg import c\n"
        "def f() -> None:\n"
        "    from . import c\n"
        "    import pkg\n"
    )
    found = imports_of("pkg.a", source, False, modules)
    assert [(i.target, i.line) for i in found] == [("pkg.b", 3), ("pkg.c", 7), ("pkg", 8)]
    graph = {
        "pkg.a": [Import("pkg.a", "pkg.b", 1)],
        "pkg.b": [Import("pkg.b", "pkg.c", 1)],
        "pkg.c": [Import("pkg.c", "pkg.a", 1)],
        "pkg": [Import("pkg", "pkg.a", 1)],
    }
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_circle_in_app_or_models() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the walker found too few modules"
    found = circles(graph)
    assert not found, "import circles (modules that import each other):\n" + "\n".join(
        describe(circle, graph) for circle in found
    )


def test_no_function_in_app_or_models_is_longer_than_80_lines() -> None:
    found = long_functions()
    assert not found, f"functions longer than {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)

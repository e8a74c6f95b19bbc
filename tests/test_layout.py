"""The package's layout: no import circles, between packages or between modules.

A circle means two parts cannot be understood, tested or moved apart; each part of printwatch
depends only on parts below it (docs/architecture.md). The graph is read from the source with
``ast`` (imports inside functions and under ``TYPE_CHECKING`` count too: a circle hidden in a
function is still a circle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "python"


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    yield f"{source}.{alias.name}"
                elif source in known:
                    yield source


def graph(level: int | None) -> dict[str, set[str]]:
    """Edges between modules, or between packages ``level`` dots deep (printwatch.x is 2)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        for target in imported(name, path, known):
            a, b = (".".join(n.split(".")[:level]) for n in (name, target)) if level else (name, target)
            if a != b and not b.startswith(a + ".") and not a.startswith(b + "."):
                edges.setdefault(a, set()).add(b)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = pop_component(stack, v)
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def pop_component(stack: list[str], root: str) -> list[str]:
    """The nodes on ``stack`` down to ``root`` (its strongly connected component), popped."""
    component = []
    while True:
        w = stack.pop()
        component.append(w)
        if w == root:
            return component


def test_no_circles_between_packages() -> None:
    assert circles(graph(2)) == []


def test_no_circles_between_modules() -> None:
    assert circles(graph(None)) == []


def test_the_check_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert graph(2), "no imports were read: the source moved?"


TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/support (or a folder's conftest), never in another test
    module: importing one runs its module-level code and ties two tests' files together."""
    found = []
    for path in sorted([*TESTS.rglob("*.py"), *(TESTS.parent / "bench").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_"):
                found.append(f"{path.relative_to(TESTS.parent)}: from {module}")
    assert found == []

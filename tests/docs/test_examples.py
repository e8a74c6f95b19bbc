"""Every ```python example in docs/ and the README runs, as written, against the built-in fleet.

Each example runs in a child interpreter of its own, in an empty temporary folder (so the files it
writes, a store or exported models, go nowhere else). An example with a top-level ``await`` runs
under Trio, as the appliance's own code does. The examples check what they show with ``assert``;
a failing example fails here with its output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

RUNNER = """
import ast, builtins, inspect, sys, types
import trio

source = sys.stdin.read()
code = compile(source, sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__example__", "__builtins__": builtins}
if code.co_flags & inspect.CO_COROUTINE:
    async def main():
        await types.FunctionType(code, namespace)()
    trio.run(main)
else:
    exec(code, namespace)
"""


def examples() -> list[pytest.param]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            name = f"{page.relative_to(ROOT)}:{line}"
            found.append(pytest.param(name, match.group(1), id=name))
    return found


def test_the_pages_have_examples() -> None:
    """The collection itself: a changed fence or folder would otherwise run nothing, silently."""
    names = {name.split(":")[0] for name, _ in (p.values for p in examples())}
    assert {"docs/engine.md", "docs/store.md", "docs/simulator.md", "docs/discovery.md"} <= names


@pytest.mark.parametrize(("name", "source"), examples())
def test_example_runs(name: str, source: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, name],
        input=source,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"

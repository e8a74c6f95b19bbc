"""The recordings: the oracle corpus, found in one place, and the pytest plugin for their absence.

The LibreNMS printer recordings (``.snmprec`` files, with LibreNMS's expected readings beside
them) are not part of the repository: they sit at ``../shared/recordings/librenms/snmprec``
beside the project, or where ``PRINTWATCH_RECORDINGS`` says. They are the oracle: agreement with
LibreNMS and snmpsim, real firmware's quirks. Tests that need only "some printers" use the
package's built-in fleet instead (:func:`built_in_fleet`).

The plugin (registered in tests/conftest.py) finds the tests that need the recordings, without
a mark to remember: a test whose function, or one of the fixtures it requests, refers to
:data:`RECORDINGS` (or a path under it, or a function that does, or
``printwatch.cli.demo.default_recordings``), or that is marked ``@pytest.mark.recordings``.
When the recordings are absent, those tests are skipped and the run ends with one summary line
saying what is missing and where it comes from; with ``CI=true`` in the environment, their
absence fails the run (exit status 1).
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import printwatch
import pytest
from printwatch import catalogue
from printwatch.sim import Simulator

#: Where the recordings come from, for people.
ORIGIN = (
    "the LibreNMS printer recordings (.snmprec), kept outside the repository in "
    "../shared/recordings/librenms/snmprec beside the project; PRINTWATCH_RECORDINGS names another folder"
)


def locate() -> Path:
    """``PRINTWATCH_RECORDINGS``, else ``shared/recordings/librenms/snmprec`` beside the project."""
    env = os.environ.get("PRINTWATCH_RECORDINGS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "recordings" / "librenms" / "snmprec"


#: The recordings' folder (it may not exist: see :func:`available`).
RECORDINGS = locate()


def built_in_fleet(**options: Any) -> Simulator:
    """A simulator of "some printers": the package's built-in models that answer SNMPv2c (the
    v1-era ones left out), printer ``i`` being model ``i % n``; ``options`` are the
    Simulator's (``count``, ``base``, ``port``, ``community``, ``v3``, ``dynamics``...)."""
    models = [m for m in catalogue.load_models() if "2c" in m.versions]
    return catalogue.simulator(models, **options)


def available(folder: Path = RECORDINGS) -> bool:
    """True if ``folder`` holds at least one ``.snmprec`` recording."""
    return folder.is_dir() and any(folder.glob("*.snmprec"))


def _under_recordings(value: object) -> bool:
    if value is RECORDINGS:
        return True
    return isinstance(value, Path) and value.is_relative_to(RECORDINGS)


def _code_names(code: types.CodeType) -> set[str]:
    """The global names ``code`` and the functions nested in it refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


#: Where installed code lives: its functions are not the tests' helpers.
_INSTALLED = tuple({sys.prefix, sys.base_prefix, str(Path(printwatch.__file__).parent)})


def _test_helper(value: object) -> bool:
    """A function of the tests (not of the package, Python or an installed library)."""
    return isinstance(value, types.FunctionType) and not value.__code__.co_filename.startswith(_INSTALLED)


def uses_recordings(fn: Callable[..., Any], depth: int = 3, seen: set[int] | None = None) -> bool:
    """True if ``fn`` refers to the recordings: :data:`RECORDINGS`, a path under it, or a
    function of the tests (``depth`` calls deep) that does."""
    seen = set() if seen is None else seen
    fn = getattr(fn, "__wrapped__", fn)
    code = getattr(fn, "__code__", None)
    if code is None or id(fn) in seen:
        return False
    seen.add(id(fn))
    namespace: dict[str, Any] = getattr(fn, "__globals__", {})
    for name in _code_names(code):
        value = namespace.get(name)
        value = inspect.unwrap(value) if callable(value) else value  # @contextmanager, @wraps
        if _under_recordings(value):
            return True
        if getattr(value, "__module__", "") == "printwatch.cli.demo" and name == "default_recordings":
            return True
        if depth > 0 and _test_helper(value) and uses_recordings(value, depth - 1, seen):
            return True
    return False


def needs_recordings(item: pytest.Item) -> bool:
    """True if the test ``item`` needs the recordings (see the module's docstring)."""
    if item.get_closest_marker("recordings") is not None:
        return True
    function = getattr(item, "function", None)
    if function is not None and uses_recordings(function):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for definitions in info.name2fixturedefs.values() if info is not None else ():
        if any(uses_recordings(d.func) for d in definitions):
            return True
    return False


SKIPPED = pytest.StashKey[set[str]]()  # the node ids of the tests skipped for want of them


def summary(skipped: int, folder: Path = RECORDINGS, *, ci: bool = False) -> str:
    """The one line that says what is missing and where it comes from."""
    return (
        f"recordings: {skipped} test{'s' if skipped != 1 else ''} skipped: no .snmprec files under "
        f"{folder} ({ORIGIN})" + ("; CI=true: their absence fails the run" if ci else "")
    )


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "recordings: needs the LibreNMS recordings (see tests/support/recordings.py)"
    )
    config.stash[SKIPPED] = set()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if available():
        return
    skip = pytest.mark.skip(reason=f"no recordings under {RECORDINGS}")
    skipped = config.stash[SKIPPED]
    for item in items:
        if needs_recordings(item):
            item.add_marker(skip)
            skipped.add(item.nodeid)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> Any:
    """Around the terminal's summary: these skips are left out of its list of skips (``-ra``),
    still counted in its last line, and said in one line of their own."""
    ours = config.stash.get(SKIPPED, set())
    stats: dict[str, list[Any]] = terminalreporter.stats
    held = [r for r in stats.get("skipped", []) if getattr(r, "nodeid", None) in ours]
    if held:
        stats["skipped"] = [r for r in stats["skipped"] if r not in held]
    try:
        return (yield)
    finally:
        if held:
            stats.setdefault("skipped", []).extend(held)
            ci = _ci()
            terminalreporter.write_line(summary(len(held), ci=ci), red=ci, yellow=not ci)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _ci() and session.config.stash.get(SKIPPED, set()) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

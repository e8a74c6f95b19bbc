"""Collects ``bench/bench_*.py`` (pytest's default ``python_files`` only matches ``test_*.py``),
so that a plain ``pytest`` run (``testpaths`` includes ``bench``) smoke-tests the benchmarks:
with ``--benchmark-disable`` (the project's default) each benchmark runs its function once."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        # Files named on the command line are collected by pytest itself, whatever their name.
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None

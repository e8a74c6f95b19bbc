"""The suite's root: plugins every test folder shares (tests/support holds the helpers)."""

from __future__ import annotations

# Each entry is a module of tests/support that holds hooks or fixtures for the whole suite.
pytest_plugins: list[str] = []
pytest_plugins.append("tests.support.recordings")  # the recordings: skipped when absent, one line
pytest_plugins.append("tests.support.postgres")  # a real PostgreSQL; the collector store on both backends

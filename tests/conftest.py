"""The suite's root: plugins every test folder shares (tests/support holds the helpers)."""

from __future__ import annotations

from hypothesis import settings

from tests.support.examples import CHECK_EXAMPLES

# Each entry is a module of tests/support that holds hooks or fixtures for the whole suite.
pytest_plugins: list[str] = []
pytest_plugins.append("tests.support.recordings")  # the recordings: skipped when absent, one line
pytest_plugins.append("tests.support.postgres")  # a real PostgreSQL; the collector store on both backends

# ``make check`` draws a tenth of each property test's examples (tests/support/examples.py).
settings.register_profile("check", max_examples=CHECK_EXAMPLES)

"""One appliance with its dashboard for the module's tests (see appliance_thread.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.appliance_thread import Running, running_appliance

#: Where the browser tests leave their screenshots (gitignored); printed by the tests.
ARTIFACTS = Path(os.environ.get("PRINTWATCH_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_appliance(tmp_path_factory.mktemp("dashboard")) as running:
        yield running

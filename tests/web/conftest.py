"""One appliance with its dashboard for the module's tests (see appliance_thread.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.appliance_thread import Running, running_appliance


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_appliance(tmp_path_factory.mktemp("dashboard")) as running:
        yield running

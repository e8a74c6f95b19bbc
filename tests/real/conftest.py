"""Fixtures that start real SNMP peers (once per session) for the tests in tests/real/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.peers import RECORDINGS, running_snmpd, running_snmpsim


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/real/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.real)


@pytest.fixture(scope="session")
def snmpd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd")) as port:
        yield port


@pytest.fixture(scope="session")
def recordings() -> list[Path]:
    found = sorted(RECORDINGS.glob("*.snmprec"))
    assert found, f"no recordings under {RECORDINGS}"
    return found


@pytest.fixture(scope="session")
def snmpsim_port(tmp_path_factory: pytest.TempPathFactory, recordings: list[Path]) -> Iterator[int]:
    with running_snmpsim(tmp_path_factory.mktemp("snmpsim"), recordings) as port:
        yield port

"""The poller's tests' fleet: every recording, one simulated printer each, on 127.23.5.1 on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from printwatch.sim import Simulator

from tests.support.recordings import RECORDINGS


@pytest.fixture(scope="module")
def recordings() -> list[str]:
    """The recordings' file names, sorted: printer ``n`` of :func:`sim` answers from the n-th."""
    return sorted(p.name for p in RECORDINGS.glob("*.snmprec"))


@pytest.fixture(scope="module")
def sim(recordings: list[str]) -> Iterator[Simulator]:
    files = [RECORDINGS / n for n in recordings]
    with Simulator(files, count=len(files), base="127.23.5.1", port=0, identity=False) as running:
        yield running

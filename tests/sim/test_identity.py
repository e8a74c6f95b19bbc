"""Per-printer identity: every simulated printer its own serial number, MAC address and sysName,
derived from its address and the seed, answered wherever its recording held them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS
from tests.support.simclient import client, walk

SERIAL = "1.3.6.1.2.1.43.5.1.1.17"
MAC = "1.3.6.1.2.1.2.2.1.6"
SYS_NAME = "1.3.6.1.2.1.1.5"
COUNT = 400


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    with Simulator(RECORDINGS, count=COUNT, base="127.23.0.1", seed=11) as sim:
        yield sim


def first(sim: Simulator, index: int, root: str) -> bytes | None:
    with client() as sock:
        vbs = walk(sock, (sim.printer(index)["address"], sim.port), root)
    values = [vb.value for vb in vbs if isinstance(vb.value, bytes) and vb.value]
    return values[0] if values else None


def test_printers_differ_even_when_recordings_repeat(fleet: Simulator) -> None:
    infos = [fleet.printer(i) for i in range(COUNT)]
    for key in ("serial", "mac", "sys_name"):
        values = [info[key] for info in infos if info[key] is not None]
        assert len(values) > COUNT // 5, key
        assert len(set(values)) == len(values), f"repeated {key}"
    # The printers that share a recording keep its shapes.
    by_recording = [info for info in infos if info["recording"] == "ricoh_mpc3002"]
    assert len(by_recording) >= 9
    for info in by_recording:
        assert info["serial"] is not None and re.fullmatch(r"W[0-9A-Z]{3}[A-Z]{2}[0-9]{5}", info["serial"])
        assert info["mac"] is not None and info["mac"].startswith("00:26:73:")
        assert info["sys_name"] is not None and re.fullmatch(r"NPI[0-9A-F]{6}", info["sys_name"])


def test_answers_match_printer_info(fleet: Simulator) -> None:
    names = fleet.recordings
    ricoh = names.index("ricoh_mpc3002")
    for index in (ricoh, ricoh + len(names), ricoh + 5 * len(names)):
        info = fleet.printer(index)
        assert first(fleet, index, SERIAL) == (info["serial"] or "").encode()
        assert first(fleet, index, SYS_NAME) == (info["sys_name"] or "").encode()
        mac = first(fleet, index, MAC)
        assert mac is not None and mac.hex(":") == info["mac"]
        # The vendor copy of the serial number changes with it.
        assert first(fleet, index, "1.3.6.1.4.1.367.3.2.1.2.1.4") == (info["serial"] or "").encode()


def test_stable_for_an_address_and_seed() -> None:
    a = Simulator(RECORDINGS, count=50, base="127.23.0.1", seed=11)
    b = Simulator(RECORDINGS, count=50, base="127.23.0.1", seed=12)
    again = Simulator(RECORDINGS, count=50, base="127.23.0.1", seed=11)
    for i in range(50):
        assert a.printer(i) == again.printer(i)
    differ = [i for i in range(50) if a.printer(i)["serial"] and a.printer(i) != b.printer(i)]
    assert len(differ) == len([i for i in range(50) if a.printer(i)["serial"]])


def test_identity_off_answers_the_recording() -> None:
    with Simulator(RECORDINGS, count=100, base="127.23.0.1", identity=False) as sim:
        names = sim.recordings
        ricoh = names.index("ricoh_mpc3002")
        assert not sim.identity
        assert sim.printer(ricoh)["serial"] == sim.printer(ricoh + len(names))["serial"] == "W492KB03439"
        assert first(sim, ricoh + len(names), SERIAL) == b"W492KB03439"

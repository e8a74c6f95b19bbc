"""The fleet simulator's Python face: serving, stats, stop, errors (identity and dynamics have
their own test modules)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch import snmp
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
BASE = "127.21.0.1"


def get(oid: str, request_id: int, community: bytes = b"public") -> bytes:
    return snmp.encode(
        snmp.Message(1, community, snmp.Pdu("get", [snmp.VarBind(oid)], request_id=request_id))
    )


def ask(
    sock: socket.socket, addr: tuple[str, int], data: bytes
) -> tuple[snmp.Message, tuple[str, int]] | None:
    sock.sendto(data, addr)
    try:
        reply, source = sock.recvfrom(65535)
    except TimeoutError:
        return None
    return snmp.decode(reply), source


@pytest.fixture
def client() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        yield sock


@pytest.mark.realtime
def test_serves_every_printer_from_its_own_address(client: socket.socket) -> None:
    with Simulator(RECORDINGS, count=300, base=BASE) as sim:
        assert (sim.first, sim.last, sim.count) == (BASE, "127.21.1.44", 300)
        assert sim.port > 0 and sim.running
        names = sim.recordings
        assert len(names) == len(list(RECORDINGS.glob("*.snmprec")))
        sent = received = 0
        for i in (0, 1, 43, 44, 299):
            addr = sim.printer(i)["address"]
            data = get(SYS_DESCR, 100 + i)
            answer = ask(client, (addr, sim.port), data)
            sent += 1
            received += len(data)
            assert answer is not None, f"printer {i} ({addr}) did not answer"
            msg, source = answer
            assert source == (addr, sim.port)
            assert msg.pdu.request_id == 100 + i
            assert sim.printer(i)["recording"] == names[i % len(names)]
        # Outside the fleet, and a wrong community: no answer, counted as dropped.
        for addr, data in (("127.21.1.45", get(SYS_DESCR, 1)), (BASE, get(SYS_DESCR, 2, b"private"))):
            assert ask(client, (addr, sim.port), data) is None
            sent += 1
            received += len(data)
        live = sim.stats()
        assert live["received"] == sent
        started = time.monotonic()
        stats = sim.stop()
        took = time.monotonic() - started
        assert took < 0.1, f"stop took {took:.3f} s"
        assert not sim.running
    assert stats["answered"] == 5 and stats["dropped"] == 2 and stats["send_errors"] == 0
    assert stats["bytes_received"] == received
    assert stats["bytes_sent"] > 5 * 30
    assert sim.stop() == stats, "stop() is idempotent"


@pytest.mark.realtime
def test_stop_is_prompt_while_idle_and_before_start() -> None:
    sim = Simulator(RECORDINGS, count=1, base=BASE)
    assert sim.stop()["received"] == 0  # never started
    sim.start()
    time.sleep(0.2)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 0.1
    with pytest.raises(RuntimeError, match="only once"):
        sim.start()


def test_port_in_use_is_an_oserror() -> None:
    with Simulator(RECORDINGS, count=1, base=BASE) as first:
        second = Simulator(RECORDINGS, count=1, base="127.21.9.1", port=first.port)
        with pytest.raises(OSError, match="in use"):
            second.start()


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        Simulator(RECORDINGS, base="10.0.0.1")
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        Simulator(RECORDINGS, base="127.255.255.250", count=10)
    with pytest.raises(ValueError, match="no printers"):
        Simulator(RECORDINGS, count=0)
    with pytest.raises(ValueError, match="bad IPv4"):
        Simulator(RECORDINGS, base="localhost")
    with pytest.raises(FileNotFoundError, match="missing"):
        Simulator(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no \*\.snmprec files in"):
        Simulator(tmp_path)
    (tmp_path / "junk.snmprec").write_text("not a recording\n")
    with pytest.raises(ValueError, match="holds no variables"):
        Simulator(tmp_path)
    with pytest.raises(TypeError, match="recordings must be"):
        Simulator(42)  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        Simulator(RECORDINGS, count=2).printer(2)


def test_recordings_as_a_list_of_files(client: socket.socket) -> None:
    files = sorted(RECORDINGS.glob("*.snmprec"))[:2]
    with Simulator([str(files[1]), files[0]], count=2, base=BASE) as sim:
        assert sim.recordings == [files[1].stem, files[0].stem]
        answer = ask(client, (sim.last, sim.port), get(SYS_DESCR, 9))
        assert answer is not None and answer[0].pdu.varbinds[0].type == "OctetString"

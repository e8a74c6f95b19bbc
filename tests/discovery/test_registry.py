"""Discovery into the device registry (``printwatch.store``): a simulated printer that moves to
another address keeps its identity (and its device), a new printer at an old address is a new
device and the old one is gone, a printer answering on two addresses is one device, and the
store's exclusions are never probed. Real DuckDB files in a temporary directory, the simulator
on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from printwatch.discovery import Options, discover
from printwatch.discovery.record import record
from printwatch.sim import Simulator
from printwatch.store import Store

from tests.support.peers import RECORDINGS

CANON = RECORDINGS / "canonprinter_lbp.snmprec"  # prtGeneralSerialNumber.1 = MKRA012345
DELL = RECORDINGS / "dell-laser_s5830dn.snmprec"  # prtGeneralSerialNumber.1 = 7XQ1R92-132-13
NETWORK = "127.38.0.0/24"
T0 = datetime(2026, 11, 30, 8, 0, 0)


def found(recording: Path, base: str, count: int = 1) -> list[object]:
    """The printers discovery finds with ``count`` copies of ``recording`` (their recorded
    serial: identity=False) from ``base``."""
    with Simulator([recording], count=count, base=base, port=0, identity=False) as sim:
        d = discover([NETWORK], Options(port=sim.port, mode="snmp", max_pps=20_000, timeout_s=0.3))
    assert len(d.printers) == count
    return list(d.printers)


def test_an_address_change_keeps_its_identity_and_a_new_printer_takes_the_old_address(tmp_path: Path) -> None:
    with Store(tmp_path / "h.duckdb") as store:
        first = record(found(CANON, "127.38.0.5"), store, at=T0)  # type: ignore[arg-type]
        assert [r.outcome for r in first] == ["new"]
        canon = first[0].device_id
        assert canon is not None
        # An hour later (a DHCP lease renewed elsewhere): the same serial at another address.
        moved = record(found(CANON, "127.38.0.77"), store, at=T0 + timedelta(hours=1))  # type: ignore[arg-type]
        assert [(r.device_id, r.outcome) for r in moved] == [(canon, "moved")]
        assert store.registry.device_at("127.38.0.77") == canon
        assert store.registry.device_at("127.38.0.5") is None
        dev = store.registry.snapshot(canon)
        assert (dev.serial, dev.vendor, dev.address) == ("MKRA012345", "canon", "127.38.0.77")
        # Another printer now answers at .77: a new device; the Canon, left without an address, is gone.
        taken = record(found(DELL, "127.38.0.77"), store, at=T0 + timedelta(hours=2))  # type: ignore[arg-type]
        assert taken[0].outcome == "new" and taken[0].device_id != canon
        assert taken[0].displaced_device_id == canon
        assert store.registry.snapshot(canon).gone_at is not None
    # Written to the file: a fresh handle reads the same registry.
    with Store(tmp_path / "h.duckdb") as store:
        assert store.registry.snapshot(canon).serial == "MKRA012345"
        assert store.registry.device_at("127.38.0.77") not in (None, canon)


def test_a_printer_on_two_addresses_is_one_device(tmp_path: Path) -> None:
    # Two copies of one recording without identity: the same serial on .20 and .21 (wired and
    # wireless), seen in the same discovery.
    printers = found(CANON, "127.38.0.20", count=2)
    with Store(tmp_path / "h.duckdb") as store:
        results = record(printers, store, at=T0)  # type: ignore[arg-type]
        assert len({r.device_id for r in results}) == 1
        assert [r.outcome for r in results] == ["new", "added_address"]


@pytest.mark.realtime
def test_the_cli_probes_the_stores_manual_targets_never_its_exclusions_and_records(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Store(path) as store:
        store.exclude("127.38.0.64/26", reason="the lab")
        store.add_manual("127.38.0.130")
    # Printers at .10 (Canon), .70 (Dell, excluded), .130 (Canon, outside the swept /25 but a
    # manual target) and .190 (Dell, outside it).
    with Simulator([CANON, DELL], count=4, base="127.38.0.10", stride=60, port=0) as sim:
        args = [
            "discover",
            "127.38.0.0/25",
            "--json",
            "--mode",
            "snmp",
            "--store",
            str(path),
            "--port",
            str(sim.port),
        ]
        r = subprocess.run(
            [sys.executable, "-m", "printwatch.cli", *args, "--rate", "20000", "--timeout", "0.3"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        received = sim.stats()["received"]
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["address"] for line in r.stdout.splitlines()] == ["127.38.0.10", "127.38.0.130"]
    # .1-.63 and the manual target, one probe each, and one GET to identify each Canon: nothing
    # reached .70 (excluded) or .190 (not asked for).
    assert "64 addresses" in r.stderr
    assert received == 64 + 2
    assert "recorded in" in r.stderr and "2 new" in r.stderr
    with Store(path) as store:
        assert store.registry.device_at("127.38.0.10") is not None
        assert store.registry.device_at("127.38.0.130") is not None
        assert len(store.registry.devices) == 2

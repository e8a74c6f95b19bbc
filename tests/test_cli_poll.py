"""``printwatch poll`` end to end: the command against the fleet simulator on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from printwatch.sim import Simulator

from tests.real.peers import RECORDINGS


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(RECORDINGS, count=3, base="127.23.0.1", port=0, identity=False) as s:
        yield s


def printwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "printwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def recorded(path_index: int, oid: str) -> str:
    rec = sorted(RECORDINGS.glob("*.snmprec"))[path_index]
    for line in rec.read_text(errors="replace").splitlines():
        if line.startswith(oid + "|"):
            return line.split("|", 2)[2]
    raise AssertionError(f"{oid} not in {rec.name}")


def test_json_lines_per_target(sim: Simulator) -> None:
    silent = f"127.23.0.200:{sim.port}"
    out = printwatch("poll", "--json", "--timeout", "0.2", "--retries", "0", f"127.23.0.1:{sim.port}", silent)
    assert out.returncode == 0, out.stderr
    first, second = (json.loads(line) for line in out.stdout.splitlines())
    assert first["reachable"] and first["version"] == "2c"
    assert first["sys"]["descr"] == recorded(0, "1.3.6.1.2.1.1.1.0")
    # Recording 0 is brother.snmprec: the shared contract's shape, decoded.
    assert first["vendor"] == "brother" and first["model"] == "Brother MFC-L2710DW series"
    assert first["serial"] == recorded(0, "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0")
    assert first["status"] == {"device": "running", "printer": "unknown", "errors": []}
    assert [(x["description"], x["state"]) for x in first["supplies"]] == [
        ("Black Toner Cartridge", "some_remaining"),
        ("Drum Unit", "ok"),
    ]
    assert [t["name"] for t in first["trays"]] == ["AUTO", "MANUAL TRAY", "TRAY1"]
    assert first["time"].endswith("Z") and first["wire"]["packets_sent"] >= 2
    assert set(second) == {"target", "reachable", "error", "time"}
    assert (second["target"], second["reachable"], second["error"]) == (silent, False, "timeout")


def test_text_output_and_exit_status(sim: Simulator) -> None:
    out = printwatch("poll", f"127.23.0.1:{sim.port}")
    assert out.returncode == 0 and "answered SNMPv2c" in out.stdout
    assert "status: device " in out.stdout and "supplies:" in out.stdout
    nobody = printwatch("poll", "--timeout", "0.1", "--retries", "0", f"127.23.0.250:{sim.port}")
    assert nobody.returncode == 1 and "no answer (timeout)" in nobody.stdout
    bad = printwatch("poll", "127.0.0.1:notaport")
    assert bad.returncode == 2 and "the port must be a number" in bad.stderr

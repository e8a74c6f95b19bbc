"""``printwatch poll`` end to end: the command against the fleet simulator on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS
from tests.support.processes import printwatch

pytestmark = pytest.mark.realtime


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(RECORDINGS, count=3, base="127.23.0.1", port=0, identity=False) as s:
        yield s


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


def test_strange_printer_end_to_end(tmp_path: Path) -> None:
    """A recording with what real printers send at their worst: UTF-8 and UTF-16 names, a name
    spelled in hex, NUL padding, a level above its capacity, a level as text, a negative
    counter, a one-octet error state. The command reports it all, in an ASCII-only terminal."""
    s = "1.3.6.1.2.1.43.11.1.1"
    lines = [
        "1.3.6.1.2.1.1.1.0|4|SHARP MX-9999N",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2385.3.1.112.1.2",
        "1.3.6.1.2.1.25.3.2.1.5.1|2|3",
        "1.3.6.1.2.1.25.3.5.1.2.1|4x|48",  # one octet, 0x48: bits 1 (noPaper) and 4 (doorOpen)
        "1.3.6.1.2.1.43.5.1.1.17.1|4x|35303039343135583030000000",  # "5009415X00" + NULs
        f"{s}.4.1.1|2|3",
        f"{s}.4.1.2|2|3",
        f"{s}.4.1.3|2|3",
        f"{s}.5.1.1|2|3",
        f"{s}.5.1.2|2|3",
        f"{s}.5.1.3|2|3",
        f"{s}.6.1.1|4x|" + "トナー ブラック".encode().hex(),
        f"{s}.6.1.2|4x|" + "Cyan Toner".encode("utf-16-le").hex(),
        f"{s}.6.1.3|4|4D6167656E746120546F6E6572",  # "Magenta Toner" spelled in hex
        f"{s}.8.1.1|2|100",
        f"{s}.8.1.2|2|100",
        f"{s}.8.1.3|2|100",
        f"{s}.9.1.1|2|130",
        f"{s}.9.1.2|4|lots",
        f"{s}.9.1.3|2|7",
        "1.3.6.1.4.1.2385.1.1.19.2.1.3.5.4.61|2|-5",
        "1.3.6.1.4.1.2385.1.1.19.2.1.3.5.4.63|65|1200",
    ]
    rec = tmp_path / "strange.snmprec"
    rec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Simulator(rec, count=1, base="127.23.0.50", port=0, identity=False) as sim:
        spec = f"127.23.0.50:{sim.port}"
        env = {**os.environ, "PYTHONIOENCODING": "ascii"}
        out = printwatch("poll", "--json", spec, env=env)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        text = printwatch("poll", spec, env=env)
    assert text.returncode == 0, text.stderr
    assert "\\u30c8" in text.stdout and "Magenta Toner" in text.stdout
    assert (doc["vendor"], doc["serial"]) == ("sharp", "5009415X00")
    assert doc["status"]["device"] == "warning"
    assert doc["status"]["errors"] == ["noPaper", "doorOpen"]
    black, cyan, magenta = doc["supplies"]
    assert (black["description"], black["color"], black["percent"], black["flags"]) == (
        "トナー ブラック",
        "black",
        100.0,
        ["clamped"],
    )
    assert (cyan["description"], cyan["color"], cyan["level"], cyan["state"]) == (
        "Cyan Toner",
        "cyan",
        None,
        "unknown",
    )
    assert (magenta["description"], magenta["color"], magenta["percent"], magenta["state"]) == (
        "Magenta Toner",
        "magenta",
        7.0,
        "low",
    )
    # The negative black counter is left out with a warning; colour is read.
    assert doc["meters"] == {"color": 1200}
    assert any("sharp.black is -5, not a page count" in w for w in doc["warnings"])
    assert any("level has the wrong type OctetString" in w for w in doc["warnings"])

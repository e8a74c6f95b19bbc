"""The one definition of a printer poll, shared by every client of the poll-cycle bench.

A printer poll (SNMPv2c, community ``public``) is:

* one GET of the eight scalars in :data:`SCALARS` (system group, HOST-RESOURCES-MIB printer
  status, Printer-MIB serial number), and
* one GETBULK walk (max-repetitions :data:`MAX_REPETITIONS`) of each table in :data:`TABLES`
  (supplies, markers, alerts), ending at the first varbind outside the table's subtree.

A poll's result is counted in *varbinds*: the scalars that came back with a value (not
noSuchObject / noSuchInstance / endOfMibView) plus every varbind inside a table's subtree.
:func:`expected_varbinds` computes, from a ``.snmprec`` recording, how many that is for a printer
answered from it, so every client's result is checked for completeness: a client that returns
fewer (or more) varbinds than the recording holds is reported as failing, never as faster.

The targets file every client reads (``--targets FILE``) is JSON::

    {"targets": [["127.20.0.1", 16100], ["127.20.0.2", 16100, "community"], ...],
     "community": "public", "scalars": [...], "tables": [...],
     "max_repetitions": 25, "timeout_s": 2.0, "retries": 1}

A target's optional third element overrides the community (snmpsim serves each recording under
a community named after its file; the fleet simulator answers ``public`` everywhere).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# GET: (name, numeric OID). Debian ships no IETF MIBs, so every client uses numeric OIDs.
SCALARS: tuple[tuple[str, str], ...] = (
    ("sysDescr", "1.3.6.1.2.1.1.1.0"),
    ("sysObjectID", "1.3.6.1.2.1.1.2.0"),
    ("sysUpTime", "1.3.6.1.2.1.1.3.0"),
    ("sysName", "1.3.6.1.2.1.1.5.0"),
    ("hrDeviceStatus", "1.3.6.1.2.1.25.3.2.1.5.1"),
    ("hrPrinterStatus", "1.3.6.1.2.1.25.3.5.1.1.1"),
    ("hrPrinterDetectedErrorState", "1.3.6.1.2.1.25.3.5.1.2.1"),
    ("prtGeneralSerialNumber", "1.3.6.1.2.1.43.5.1.1.17.1"),
)

# GETBULK walks: (name, numeric OID of the table).
TABLES: tuple[tuple[str, str], ...] = (
    ("prtMarkerSuppliesTable", "1.3.6.1.2.1.43.11.1"),
    ("prtMarkerTable", "1.3.6.1.2.1.43.10.2"),
    ("prtAlertTable", "1.3.6.1.2.1.43.18.1"),
)

COMMUNITY = "public"
# 25 rows per GetBulk: a printer's supplies table (a few columns x up to ~10 supplies) takes a
# handful of round trips, and a response of 25 varbinds stays well under 1,472 bytes (no IP
# fragmentation) for typical printer values.
MAX_REPETITIONS = 25
# Loopback answers in well under a millisecond; a 2 s timeout with one retry only matters when a
# client is overloaded, and then the error is counted rather than hidden.
TIMEOUT_S = 2.0
RETRIES = 1


@dataclasses.dataclass(frozen=True)
class Workload:
    """The workload parameters as carried in a targets file."""

    community: str = COMMUNITY
    scalars: tuple[str, ...] = tuple(oid for _, oid in SCALARS)
    tables: tuple[str, ...] = tuple(oid for _, oid in TABLES)
    max_repetitions: int = MAX_REPETITIONS
    timeout_s: float = TIMEOUT_S
    retries: int = RETRIES

    def to_json(self) -> dict[str, Any]:
        return {
            "community": self.community,
            "scalars": list(self.scalars),
            "tables": list(self.tables),
            "max_repetitions": self.max_repetitions,
            "timeout_s": self.timeout_s,
            "retries": self.retries,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workload:
        default = cls()
        return cls(
            community=str(data.get("community", default.community)),
            scalars=tuple(str(o) for o in data.get("scalars", default.scalars)),
            tables=tuple(str(o) for o in data.get("tables", default.tables)),
            max_repetitions=int(data.get("max_repetitions", default.max_repetitions)),
            timeout_s=float(data.get("timeout_s", default.timeout_s)),
            retries=int(data.get("retries", default.retries)),
        )


@dataclasses.dataclass(frozen=True)
class Target:
    host: str
    port: int
    community: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def write_targets(
    path: Path, targets: Iterable[tuple[str, int] | tuple[str, int, str]], workload: Workload
) -> None:
    """Writes a targets file (see the module docstring)."""
    rows = [list(t) for t in targets]
    path.write_text(json.dumps({"targets": rows, **workload.to_json()}))


def read_targets(path: Path) -> tuple[list[Target], Workload]:
    """Reads a targets file; a target without its own community uses the workload's."""
    data = json.loads(path.read_text())
    workload = Workload.from_json(data)
    targets = []
    for row in data["targets"]:
        host, port = str(row[0]), int(row[1])
        ipaddress.ip_address(host)  # numeric addresses only: no client should spend time resolving
        community = str(row[2]) if len(row) > 2 else workload.community
        targets.append(Target(host, port, community))
    return targets, workload


def fleet_targets(base: str, count: int, port: int) -> list[tuple[str, int]]:
    """``count`` consecutive addresses from ``base``, all on ``port`` (the simulator's layout)."""
    first = ipaddress.IPv4Address(base)
    return [(str(first + i), port) for i in range(count)]


# ---------------------------------------------------------------------------------------------
# Expected results, from the recordings
# ---------------------------------------------------------------------------------------------

_OID = re.compile(r"^\.?\d{1,10}(\.\d{1,10})+$")  # sim::OidBuf::parse: a leading dot is allowed
_HEX = re.compile(r"^([0-9A-Fa-f]{2})*$")
_NUMERIC_RANGES = {
    "2": (-(2**31), 2**31 - 1),
    "65": (0, 2**32 - 1),
    "66": (0, 2**32 - 1),
    "67": (0, 2**32 - 1),
}
_NUMERIC_RANGES["70"] = (0, 2**64 - 1)


def _valid_value(tag: str, value: str) -> bool:
    """Whether the simulator can serve this recorded value (mirrors ``sim::snmprec``'s parser,
    which skips a bad line: ``okilan_9450g.snmprec`` has a Counter32 recorded as ``6git3159``)."""
    if tag in ("4", "5", "68"):
        return True
    if tag in ("4x", "68x"):
        return _HEX.match(value.strip()) is not None
    if tag == "6":
        return _OID.match(value.strip()) is not None
    if tag == "64":
        parts = value.strip().split(".")
        return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
    if tag == "64x":
        return len(value.strip()) == 8 and _HEX.match(value.strip()) is not None
    if tag in _NUMERIC_RANGES:
        low, high = _NUMERIC_RANGES[tag]
        try:
            number = int(value.strip())
        except ValueError:
            return False
        return low <= number <= high
    return False


def recorded_oids(path: Path) -> set[tuple[int, ...]]:
    """The OIDs a recording serves (bad lines skipped, duplicates merged), as integer tuples."""
    oids: set[tuple[int, ...]] = set()
    for line in path.read_bytes().split(b"\n"):
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        if not text.strip():
            continue
        fields = text.split("|", 2)
        if len(fields) < 3:
            continue
        oid, tag, value = fields[0].strip(), fields[1].strip(), fields[2]
        if _OID.match(oid) and _valid_value(tag, value):
            oids.add(_arcs(oid))
    return oids


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.strip(".").split("."))


def expected_varbinds(recording: Path, workload: Workload | None = None) -> int:
    """How many varbinds one poll of a printer answered from ``recording`` must return: the
    scalars it holds plus every variable strictly inside each walked table."""
    workload = workload or Workload()
    oids = recorded_oids(recording)
    count = sum(1 for oid in workload.scalars if _arcs(oid) in oids)
    for table in workload.tables:
        root = _arcs(table)
        count += sum(1 for oid in oids if len(oid) > len(root) and oid[: len(root)] == root)
    return count


def expected_per_printer(
    recordings: Sequence[Path], count: int, workload: Workload | None = None
) -> list[int]:
    """Expected varbinds for printers ``0 .. count-1`` of a fleet where printer ``i`` is answered
    from ``recordings[i % len(recordings)]`` (the fleet simulator's assignment)."""
    per_recording = [expected_varbinds(r, workload) for r in recordings]
    return [per_recording[i % len(per_recording)] for i in range(count)]

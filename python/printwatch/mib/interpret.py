"""The poll document: one polled printer as the shared contract's JSON object.

>>> doc = interpret(result, time="2026-11-30T10:00:00Z")   # doctest: +SKIP
>>> doc["supplies"][0]["percent"], doc["meters"]["total"]     # doctest: +SKIP

:func:`interpret` takes the engine's :class:`TargetResult` (or several, for a two-step poll:
the base plan, then the vendor plan) and gives exactly the shape that ``printwatch poll --json``
prints and the store ingests; :func:`interpret_varbinds` does the same from plain mappings of
varbinds (tests, recordings, other transports).

Error handling: a printer's data never raises. Missing tables, wrong types and garbage give a
null field and a line in ``warnings``; what the engine could not read is in ``failures``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import TargetResult, VarBind
from printwatch.clock import iso_seconds, utcnow
from printwatch.mib import oids
from printwatch.mib.alerts import alerts
from printwatch.mib.counters import read_counters, table_cells
from printwatch.mib.identity import mac_of, model_of, serial_of, vendor_of
from printwatch.mib.levels import check_thresholds
from printwatch.mib.meters import read_meters
from printwatch.mib.status import status
from printwatch.mib.supplies import supplies
from printwatch.mib.tables import EXCEPTIONS, as_int, present
from printwatch.mib.text import decode_text
from printwatch.mib.trays import trays

Thresholds = Mapping[str, float]


def _sys_group(gets: Mapping[str, VarBind]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, oid in oids.SYSTEM.items():
        vb = present(gets, oid)
        if name == "uptime":
            ticks = as_int(vb) if vb is not None and vb.type == "TimeTicks" else None
            out["uptime_s"] = None if ticks is None else ticks // 100
        elif name == "object_id":
            value = vb.value if vb is not None and vb.type == "ObjectIdentifier" else None
            out[name] = value.lstrip(".") if isinstance(value, str) else None
        else:
            # The printer's own spacing is kept (sysDescr is often parsed by people's scripts).
            out[name] = decode_text(vb.value, collapse=False) if vb is not None else None
    return out


def interpret_varbinds(
    target: str,
    gets: Mapping[str, VarBind],
    walks: Mapping[str, Sequence[VarBind]],
    *,
    version: str | None = None,
    rtt_ms: float | None = None,
    time: str | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The poll document of a printer that answered, from its GET and walk results.

    Error handling: ``ValueError`` for bad ``thresholds`` (see
    :func:`~printwatch.mib.levels.check_thresholds`); the printer's data never raises.
    """
    check_thresholds(thresholds)
    warnings: list[str] = []
    sys_group = _sys_group(gets)
    for name in ("descr", "object_id"):
        if sys_group[name] is None:
            warnings.append(f"sys{name[0].upper()}{name[1:].replace('_id', 'ID')}: missing")
    tables: dict[str, Sequence[VarBind]] = {}
    for name, root in oids.TABLES.items():
        rows = [vb for vb in walks.get(root, ()) if vb.type not in EXCEPTIONS]
        if not rows:
            warnings.append(f"{name}: missing")
        tables[name] = rows
    vendor = vendor_of(sys_group["descr"], sys_group["object_id"])
    meters, evidence = read_meters(
        vendor, {**table_cells(vendor, walks), **gets}, tables["prtMarkerTable"], warnings
    )
    counters = read_counters(vendor, gets, walks, tables["prtMarkerTable"], warnings)
    return {
        "target": target,
        "reachable": True,
        "version": version,
        "rtt_ms": None if rtt_ms is None else round(rtt_ms, 3),
        "time": time or iso_seconds(utcnow()),
        "sys": sys_group,
        "vendor": vendor,
        "model": model_of(vendor, sys_group["descr"], gets),
        "serial": serial_of(vendor, sys_group["descr"], gets),
        "mac": mac_of(gets),
        "status": status(gets, warnings),
        "meters": meters,
        "meter_evidence": evidence,
        "counters": counters,
        "supplies": supplies(
            tables["prtMarkerSuppliesTable"], tables["prtMarkerColorantTable"], warnings, thresholds
        ),
        "trays": trays(tables["prtInputTable"], warnings, thresholds),
        "alerts": alerts(tables["prtAlertTable"]),
        "warnings": warnings,
    }


def unreachable(target: str, error: str, *, time: str | None = None) -> dict[str, Any]:
    """The document of a target that did not answer."""
    return {"target": target, "reachable": False, "error": error, "time": time or iso_seconds(utcnow())}


def interpret(
    result: TargetResult,
    *more: TargetResult,
    target: str | None = None,
    time: str | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The poll document of one target from its engine result(s).

    ``more`` are further results of the same target (the vendor step of a two-step poll): their
    GETs and walks are merged in, their failures and wire counts added. ``target`` names the
    target in the document (default ``host:port``).
    """
    name = target or f"{result.host}:{result.port}"
    if not result.reachable:
        return unreachable(name, result.status, time=time)
    gets: dict[str, VarBind] = dict(result.gets)
    walks: dict[str, Sequence[VarBind]] = dict(result.walks)
    failures = list(result.failures)
    wire = [result.packets_sent, result.bytes_sent, result.bytes_received]
    for extra in more:
        gets.update(extra.gets)
        walks.update(extra.walks)
        failures.extend(extra.failures)
        wire = [wire[0] + extra.packets_sent, wire[1] + extra.bytes_sent, wire[2] + extra.bytes_received]
    doc = interpret_varbinds(
        name, gets, walks, version=result.version, rtt_ms=result.rtt_ms, time=time, thresholds=thresholds
    )
    doc["failures"] = [{"op": op, "oid": oid, "kind": kind, "detail": d} for op, oid, kind, d in failures]
    doc["wire"] = {"packets_sent": wire[0], "bytes_sent": wire[1], "bytes_received": wire[2]}
    return doc

"""The poll document: one polled printer as the shared contract's JSON object.

>>> doc = interpret(result, time="2026-11-30T10:00:00Z")   # doctest: +SKIP
>>> doc["supplies"][0]["percent"], doc["meters"]["total"]     # doctest: +SKIP

:func:`interpret` takes the engine's :class:`TargetResult` (or several, for a two-step poll:
the base plan, then the vendor plan) and gives exactly the shape that ``printwatch poll --json``
prints and the store ingests; :func:`interpret_varbinds` does the same from plain mappings of
varbinds (tests, recordings, other transports).

A poll's answers mostly repeat from one cycle to the next (the status of a printer changes a few
times a day), so :func:`interpret` can take an :class:`AnswerCache`: per target, the digest of
its last answer (:meth:`TargetResult.digest`, every varbind but sysUpTime) and that answer's
document. An answer with the same digest is not interpreted again: the document is rebuilt from
the cache (a fresh copy) with this poll's uptime, time, version, round trip, failures and wire
counts. Any other change of any varbind changes the digest, and the answer is interpreted.

Error handling: a printer's data never raises. Missing tables, wrong types and garbage give a
null field and a line in ``warnings``; what the engine could not read is in ``failures``.
"""

from __future__ import annotations

import marshal
import sys
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


def _uptime_s(vb: VarBind | None) -> int | None:
    ticks = as_int(vb) if vb is not None and vb.type == "TimeTicks" else None
    return None if ticks is None else ticks // 100


def _sys_group(gets: Mapping[str, VarBind]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, oid in oids.SYSTEM.items():
        vb = present(gets, oid)
        if name == "uptime":
            out["uptime_s"] = _uptime_s(vb)
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


#: The GETs whose value changes at every poll, left out of an answer's digest and read apart.
VOLATILE = [oids.SYS_UPTIME]


class AnswerCache:
    """Per target, the digest of its last answer and that answer's document (marshalled, its
    strings interned: compact while kept, and a fresh copy each time it is served whose strings
    are shared with the other copies). See the module's docstring."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[bytes, bytes]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, target: str, key: bytes) -> dict[str, Any] | None:
        """A copy of the document kept for ``target`` if it was made from the answer ``key``."""
        entry = self._entries.get(target)
        if entry is None or entry[0] != key:
            self.misses += 1
            return None
        self.hits += 1
        doc: dict[str, Any] = marshal.loads(entry[1])
        return doc

    def put(self, target: str, key: bytes, doc: dict[str, Any]) -> None:
        try:
            self._entries[target] = (key, marshal.dumps(_interned(doc)))
        except ValueError:  # not plain data (never so from interpret_varbinds): not kept
            self._entries.pop(target, None)


def _interned(value: Any) -> Any:
    """``value`` with every string interned: marshal keeps that mark, so the copies it makes
    share one object per distinct string (a supply's type, colour and state, a model, a meter
    name) instead of one per document, a third less memory for every document a consumer holds."""
    if type(value) is str:
        return sys.intern(value)
    if type(value) is dict:
        return {_interned(k): _interned(v) for k, v in value.items()}
    if type(value) is list:
        return [_interned(v) for v in value]
    return value


def _answer_key(results: Sequence[TargetResult], thresholds: Thresholds | None) -> bytes:
    """The digests of a poll's results, with the thresholds their documents were made for."""
    key = b"".join(r.digest(VOLATILE) for r in results)
    return key if thresholds is None else key + repr(sorted(thresholds.items())).encode()


def _from_cache(
    doc: dict[str, Any], results: Sequence[TargetResult], name: str, time: str | None
) -> dict[str, Any]:
    """A cached document with this poll's own values: as :func:`interpret_varbinds` sets them."""
    first = results[0]
    doc["target"] = name
    doc["version"] = first.version
    doc["rtt_ms"] = None if first.rtt_ms is None else round(first.rtt_ms, 3)
    doc["time"] = time or iso_seconds(utcnow())
    # The merged GETs of interpret(): a later result's value wins.
    uptime = next((vb for vb in (r.get(oids.SYS_UPTIME) for r in reversed(results)) if vb is not None), None)
    doc["sys"]["uptime_s"] = _uptime_s(None if uptime is None or uptime.type in EXCEPTIONS else uptime)
    return doc


def interpret(
    result: TargetResult,
    *more: TargetResult,
    target: str | None = None,
    time: str | None = None,
    thresholds: Thresholds | None = None,
    cache: AnswerCache | None = None,
) -> dict[str, Any]:
    """The poll document of one target from its engine result(s).

    ``more`` are further results of the same target (the vendor step of a two-step poll): their
    GETs and walks are merged in, their failures and wire counts added. ``target`` names the
    target in the document (default ``host:port``). With a ``cache``, an answer the same as the
    target's last one is not interpreted again (see the module's docstring); the document is
    the same either way.
    """
    name = target or f"{result.host}:{result.port}"
    if not result.reachable:
        return unreachable(name, result.status, time=time)
    results = (result, *more)
    key = _answer_key(results, thresholds) if cache is not None else b""
    cached = cache.get(name, key) if cache is not None else None
    if cached is not None:
        doc = _from_cache(cached, results, name, time)
    else:
        gets: dict[str, VarBind] = {}
        walks: dict[str, Sequence[VarBind]] = {}
        for r in results:
            gets.update(r.gets)
            walks.update(r.walks)
        doc = interpret_varbinds(
            name, gets, walks, version=result.version, rtt_ms=result.rtt_ms, time=time, thresholds=thresholds
        )
        if cache is not None:
            cache.put(name, key, doc)
    failures = [f for r in results for f in r.failures]
    doc["failures"] = [{"op": op, "oid": oid, "kind": kind, "detail": d} for op, oid, kind, d in failures]
    doc["wire"] = {
        "packets_sent": sum(r.packets_sent for r in results),
        "bytes_sent": sum(r.bytes_sent for r in results),
        "bytes_received": sum(r.bytes_received for r in results),
    }
    return doc

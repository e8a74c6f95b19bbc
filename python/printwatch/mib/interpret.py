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

Two of the five Printer-MIB tables change rarely: the colorants (a new toner model) and the
input trays (paper loaded, a tray fitted). A status poll may leave them out and be interpreted
with the :class:`SlowParts` an earlier walk of them gave (``slow=``): the document is the one a
poll of all five tables would give while those tables are unchanged (the poller walks them
again every 10 minutes, at meter reads and when the printer at an address changes; see
:mod:`printwatch.poller.documents`).

Error handling: a printer's data never raises. Missing tables, wrong types and garbage give a
null field and a line in ``warnings``; what the engine could not read is in ``failures``.
"""

from __future__ import annotations

import itertools
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
from printwatch.mib.supplies import colorant_names, supplies
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


#: The tables a status poll may leave out, read from an earlier walk instead (:class:`SlowParts`).
SLOW_TABLES = ("prtMarkerColorantTable", "prtInputTable")
#: The GETs that say which printer answered: another value, and the slow parts are not its.
IDENTITY_OIDS = (oids.SYS_OBJECT_ID, oids.PRT_GENERAL_SERIAL_NUMBER)

_tokens = itertools.count(1)


class SlowParts:
    """What a printer's colorant and input tray tables said, interpreted, with the identity of
    the printer that said it: the colour of each colorant row, the trays (and their warnings),
    and whether each table had rows. Immutable by convention (documents share ``trays``).
    ``token`` tells parts apart in an answer's key: equal parts keep the first's
    (:meth:`SlowParts.same`), so an answer interpreted with either is the same answer.
    ``walked_at``: when the tables were last walked and said this (the poller's clock, Unix
    seconds; set by the poller)."""

    __slots__ = ("colorants", "identity", "present", "token", "tray_warnings", "trays", "walked_at")

    def __init__(
        self,
        identity: tuple[object, ...],
        colorants: Mapping[str, str | None],
        trays: list[dict[str, Any]],
        tray_warnings: Sequence[str],
        present: tuple[bool, bool],
    ) -> None:
        self.identity = identity
        self.colorants = _shared_colorants(colorants)
        self.trays = _interned(trays)
        self.tray_warnings = tuple(tray_warnings)
        self.present = present
        self.token = next(_tokens)
        self.walked_at = 0.0

    def same(self, other: SlowParts | None) -> bool:
        """Whether ``other`` says the same (of the same printer)."""
        return other is not None and (
            self.identity,
            self.present,
            self.colorants,
            self.trays,
            self.tray_warnings,
        ) == (other.identity, other.present, other.colorants, other.trays, other.tray_warnings)

    def of(self, result: TargetResult) -> bool:
        """Whether ``result`` (a status poll's) is of the printer these parts were read from."""
        return self.identity == identity_of(result.get)


#: Colorant maps by their items: a fleet has few (one a model), so the parts of its printers
#: share them. Bounded: only small maps are shared (a printer's colorants are a handful; a
#: hostile one answering thousands of rows keeps its map to itself), and at most this many.
_COLORANT_MAPS: dict[tuple[tuple[str, str | None], ...], dict[str, str | None]] = {}
_COLORANT_MAPS_MAX = 1024
_COLORANT_SHARED_ROWS = 16
_COLORANT_SHARED_KEY = 32


def _shared_colorants(colorants: Mapping[str, str | None]) -> dict[str, str | None]:
    """``colorants`` as a dict of interned strings, the same object for every equal small map
    (while :data:`_COLORANT_MAPS` has room). Read-only."""
    small = len(colorants) <= _COLORANT_SHARED_ROWS and all(len(k) <= _COLORANT_SHARED_KEY for k in colorants)
    if not small:
        return dict(colorants)
    own = {sys.intern(k): v if v is None else sys.intern(v) for k, v in colorants.items()}
    items = tuple(own.items())
    found = _COLORANT_MAPS.get(items)
    if found is not None:
        return found
    if len(_COLORANT_MAPS) < _COLORANT_MAPS_MAX:
        _COLORANT_MAPS[items] = own
    return own


def identity_of(get: Any) -> tuple[object, ...]:
    """sysObjectID and the serial number as ``get(oid)`` gives them (a result's ``get`` or a
    mapping's), type and value: what changes when another printer answers at an address."""
    out: list[object] = []
    for oid in IDENTITY_OIDS:
        vb = get(oid)
        if vb is None:
            out.append(None)
            continue
        value = vb.value
        out.append((sys.intern(vb.type), sys.intern(value) if type(value) is str else value))
    return tuple(out)


def _rows(walks: Mapping[str, Sequence[VarBind]], name: str) -> list[VarBind]:
    """The rows of table ``name``'s walk that hold a value (not an exception)."""
    return [vb for vb in walks.get(oids.TABLES[name], ()) if vb.type not in EXCEPTIONS]


def read_slow_parts(
    identity: tuple[object, ...], walks: Mapping[str, Sequence[VarBind]], thresholds: Thresholds | None = None
) -> SlowParts:
    """The :class:`SlowParts` of the slow tables' walks in ``walks``, for the printer of
    ``identity``.

    Error handling: ``ValueError`` for bad ``thresholds``, as :func:`interpret_varbinds`."""
    check_thresholds(thresholds)
    colorant_rows, input_rows = (_rows(walks, name) for name in SLOW_TABLES)
    tray_warnings: list[str] = []
    found = trays(input_rows, tray_warnings, thresholds)
    had = (bool(colorant_rows), bool(input_rows))
    return SlowParts(identity, colorant_names(colorant_rows), found, tray_warnings, had)


def interpret_varbinds(
    target: str,
    gets: Mapping[str, VarBind],
    walks: Mapping[str, Sequence[VarBind]],
    *,
    version: str | None = None,
    rtt_ms: float | None = None,
    time: str | None = None,
    thresholds: Thresholds | None = None,
    slow: SlowParts | None = None,
) -> dict[str, Any]:
    """The poll document of a printer that answered, from its GET and walk results (with
    ``slow``, the colorant and input tray tables are those parts, not ``walks``).

    Error handling: ``ValueError`` for bad ``thresholds`` (see
    :func:`~printwatch.mib.levels.check_thresholds`); the printer's data never raises.
    """
    check_thresholds(thresholds)
    warnings: list[str] = []
    sys_group = _sys_group(gets)
    for name in ("descr", "object_id"):
        if sys_group[name] is None:
            warnings.append(f"sys{name[0].upper()}{name[1:].replace('_id', 'ID')}: missing")
    if slow is None:
        slow = read_slow_parts(identity_of(gets.get), walks, thresholds)
    tables: dict[str, Sequence[VarBind]] = {}
    for name in oids.TABLES:
        if name in SLOW_TABLES:
            if not slow.present[SLOW_TABLES.index(name)]:
                warnings.append(f"{name}: missing")
            continue
        rows = _rows(walks, name)
        if not rows:
            warnings.append(f"{name}: missing")
        tables[name] = rows
    vendor = vendor_of(sys_group["descr"], sys_group["object_id"])
    meters, evidence = read_meters(
        vendor, {**table_cells(vendor, walks), **gets}, tables["prtMarkerTable"], warnings
    )
    counters = read_counters(vendor, gets, walks, tables["prtMarkerTable"], warnings)
    state = status(gets, warnings)
    found = supplies(tables["prtMarkerSuppliesTable"], (), warnings, thresholds, colorants=slow.colorants)
    warnings.extend(slow.tray_warnings)
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
        "status": state,
        "meters": meters,
        "meter_evidence": evidence,
        "counters": counters,
        "supplies": found,
        "trays": slow.trays,  # shared, read-only, as a cached answer's parts are
        "alerts": alerts(tables["prtAlertTable"]),
        "warnings": warnings,
    }


def unreachable(target: str, error: str, *, time: str | None = None) -> dict[str, Any]:
    """The document of a target that did not answer."""
    return {"target": target, "reachable": False, "error": error, "time": time or iso_seconds(utcnow())}


#: The GETs whose value changes at every poll, left out of an answer's digest and read apart.
VOLATILE = [oids.SYS_UPTIME]
#: The keys of a document that are this poll's own (not of the answer's varbinds): set afresh on
#: every document served from the cache; ``sys`` is copied for its ``uptime_s``.
OWN_KEYS = ("target", "version", "rtt_ms", "time", "sys", "failures", "wire")


class Answer:
    """One interpreted status answer of a target: its key (the answer's digest) and its document,
    shared **read-only** by every document served from it (strings interned). A document made
    from an answer holds the answer's parts themselves (supplies, meters, trays, alerts, ...),
    not copies; only :data:`OWN_KEYS` are its own. Two documents of a target with the same
    :class:`Answer` (``is``) are the same but for those keys: what a consumer that kept the
    answer of the last document it saw needs to know to skip its work (see
    :class:`Documents`)."""

    __slots__ = ("doc", "key")

    def __init__(self, key: bytes, doc: dict[str, Any]) -> None:
        self.key = key
        self.doc = doc

    def document(
        self, target: str, *, version: Any, rtt_ms: float | None, time: str, uptime_s: int | None
    ) -> dict[str, Any]:
        """A document of this answer with a poll's own values (as :func:`interpret_varbinds`
        sets them; ``failures`` and ``wire`` are the caller's)."""
        doc = dict(self.doc)
        sys_ = doc.get("sys")
        doc["target"] = target
        doc["version"] = version
        doc["rtt_ms"] = rtt_ms
        doc["time"] = time
        doc["sys"] = {**sys_, "uptime_s": uptime_s} if isinstance(sys_, dict) else sys_
        return doc


class Documents(list[dict[str, Any]]):
    """A poll's documents, with, per document, the :class:`Answer` it was made from (None for
    one that was not: a meter read, an unreachable target). ``unchanged(i, kept)`` says whether
    document ``i`` is the same as the last one a consumer saw of its target, given the answer
    that consumer ``kept`` of it: the fact that lets each consumer skip what an unchanged
    document cannot change. A plain list of documents is the old path: every one is new."""

    def __init__(self, docs: Sequence[dict[str, Any]] = (), answers: Sequence[Answer | None] = ()) -> None:
        super().__init__(docs)
        self.answers: list[Answer | None] = list(answers) or [None] * len(self)
        if len(self.answers) != len(self):
            raise ValueError("one answer (or None) per document")


def answers_of(docs: Sequence[dict[str, Any]]) -> Sequence[Answer | None] | None:
    """The answers of a poll's documents (:class:`Documents`), or None for a plain list."""
    return docs.answers if isinstance(docs, Documents) else None


class AnswerCache:
    """Per target, its last status answer (:class:`Answer`: the digest, and the document kept
    with its strings interned, shared read-only by the documents served from it). See the
    module's docstring."""

    def __init__(self) -> None:
        self._entries: dict[str, Answer] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, target: str, key: bytes) -> Answer | None:
        """The answer kept for ``target`` if it was made from the answer ``key``."""
        entry = self._entries.get(target)
        if entry is None or entry.key != key:
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(
        self, target: str, key: bytes, doc: dict[str, Any], shared: Sequence[object] = ()
    ) -> Answer | None:
        """Keeps ``doc`` as ``target``'s answer ``key`` (its :data:`OWN_KEYS` but ``sys`` as
        None: their places kept, so the documents served have the same key order); None, and
        nothing kept, when it is not plain data. Values that are one of ``shared`` (already
        interned and read-only: a :class:`SlowParts`' trays) are kept as they are, not copied."""
        try:
            marshal.dumps(doc)  # plain data only (never otherwise from interpret_varbinds)
        except ValueError:
            self._entries.pop(target, None)
            return None
        ids = {id(o) for o in shared}
        kept = {
            sys.intern(k): None if k in OWN_KEYS and k != "sys" else v if id(v) in ids else _interned(v)
            for k, v in doc.items()
        }
        answer = self._entries[target] = Answer(key, kept)
        return answer


def _interned(value: Any) -> Any:
    """``value`` copied with every string interned: the answers of a fleet share one object per
    distinct string (a supply's type, colour and state, a model, a meter name) instead of one
    per document, a third less memory for every document kept."""
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


def _uptime_of(results: Sequence[TargetResult]) -> int | None:
    """The uptime of a poll's merged GETs (as :func:`interpret` merges them: a later result's
    value wins)."""
    uptime = next((vb for vb in (r.get(oids.SYS_UPTIME) for r in reversed(results)) if vb is not None), None)
    return _uptime_s(None if uptime is None or uptime.type in EXCEPTIONS else uptime)


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
    the same either way (but shares the cached answer's parts: read-only).
    """
    doc, _, _ = interpret_answer(result, *more, target=target, time=time, thresholds=thresholds, cache=cache)
    return doc


def interpret_answer(
    result: TargetResult,
    *more: TargetResult,
    target: str | None = None,
    time: str | None = None,
    thresholds: Thresholds | None = None,
    cache: AnswerCache | None = None,
    slow: SlowParts | None = None,
    extra: Sequence[TargetResult] = (),
) -> tuple[dict[str, Any], Answer | None, SlowParts | None]:
    """:func:`interpret`, the :class:`Answer` the document was made from (with a ``cache``, a
    target that answered: the same object as its last document's when its answer did not
    change; else None) and the :class:`SlowParts` it was made with (``slow``, or those its
    walks gave when it was interpreted; None when served from the cache without them).
    ``extra``: results of the same poll counted in ``failures`` and ``wire`` only (the walk
    ``slow`` was read from)."""
    name = target or f"{result.host}:{result.port}"
    if not result.reachable:
        return unreachable(name, result.status, time=time), None, None
    results = (result, *more)
    answer = None
    parts = slow
    if cache is not None:
        key = _answer_key(results, thresholds)
        if slow is not None:
            key += b"|slow:%d" % slow.token
        answer = cache.get(name, key)
        if answer is not None:
            rtt = None if result.rtt_ms is None else round(result.rtt_ms, 3)
            doc = answer.document(
                name,
                version=result.version,
                rtt_ms=rtt,
                time=time or iso_seconds(utcnow()),
                uptime_s=_uptime_of(results),
            )
    if answer is None:
        gets: dict[str, VarBind] = {}
        walks: dict[str, Sequence[VarBind]] = {}
        for r in results:
            gets.update(r.gets)
            walks.update(r.walks)
        if parts is None:
            parts = read_slow_parts(identity_of(gets.get), walks, thresholds)
        doc = interpret_varbinds(
            name,
            gets,
            walks,
            version=result.version,
            rtt_ms=result.rtt_ms,
            time=time,
            thresholds=thresholds,
            slow=parts,
        )
        if cache is not None:
            answer = cache.put(name, key, doc, shared=(parts.trays,))
            if answer is not None:  # the document handed out shares the kept answer's parts
                doc = answer.document(
                    name,
                    version=doc["version"],
                    rtt_ms=doc["rtt_ms"],
                    time=doc["time"],
                    uptime_s=doc["sys"]["uptime_s"],
                )
    counted = (*results, *extra)
    failures = [f for r in counted for f in r.failures]
    doc["failures"] = [{"op": op, "oid": oid, "kind": kind, "detail": d} for op, oid, kind, d in failures]
    doc["wire"] = {
        "packets_sent": sum(r.packets_sent for r in counted),
        "bytes_sent": sum(r.bytes_sent for r in counted),
        "bytes_received": sum(r.bytes_received for r in counted),
    }
    return doc, answer, parts

"""Turning a cycle of poll documents into the rows the store keeps (pure Python, no I/O).

:class:`Ingestor` holds what the decisions need — the last kept level of every supply, the last
kept read of every meter, the last status of every device — and turns one batch of documents
(the shared contract, see docs/mib.md) into Arrow tables: only what changed is kept (see
:mod:`printwatch.store.schema` for the rules). The writer appends those tables in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from printwatch.mib.interpret import Answer, answers_of
from printwatch.store.columns import NULL, Columns
from printwatch.store.registry import Registry, Sighting, target_address

TS = pa.timestamp("us")
TS_S = pa.timestamp("s")
SUPPLY_ROW = pa.schema(
    [("supply_id", pa.int32()), ("time", TS_S), ("level", pa.int32()), ("max_capacity", pa.int32()),
     ("percent", pa.float32()), ("state", pa.string())]
)  # fmt: skip
SUPPLY_LATEST = pa.schema(
    [*SUPPLY_ROW, ("cycle_start", TS), ("fit_n", pa.int32()), ("fit_t_last_d", pa.float64()),
     ("fit_st", pa.float64()), ("fit_sp", pa.float64()), ("fit_stt", pa.float64()), ("fit_stp", pa.float64())]
)  # fmt: skip
#: The running least-squares sums of a supply's current cycle (see schema.py's supply_latest).
FIT_COLUMNS = ("cycle_start", "fit_n", "fit_t_last_d", "fit_st", "fit_sp", "fit_stt", "fit_stp")
SUPPLY_SERIES = pa.schema(
    [("supply_id", pa.int32()), ("device_id", pa.int32()), ("supply_index", pa.int32()),
     ("description", pa.string()), ("type", pa.string()), ("class", pa.string()), ("color", pa.string()),
     ("unit", pa.string()), ("coarse", pa.bool_())]
)  # fmt: skip
SUPPLY_EVENT = pa.schema(
    [("supply_id", pa.int32()), ("time", TS), ("kind", pa.string()), ("percent_before", pa.float32()),
     ("percent_after", pa.float32())]
)  # fmt: skip
METER_ROW = pa.schema([("source_id", pa.int32()), ("time", TS_S), ("value", pa.int64()), ("raw", pa.int64())])
METER_SOURCE = pa.schema(
    [("source_id", pa.int32()), ("device_id", pa.int32()), ("meter", pa.string()), ("oid", pa.string()),
     ("rule", pa.string())]
)  # fmt: skip
COUNTER_SOURCE = pa.schema(
    [("source_id", pa.int32()), ("device_id", pa.int32()), ("name", pa.string()), ("oid", pa.string()),
     ("source", pa.string()), ("unit", pa.string())]
)  # fmt: skip
METER_LATEST = pa.schema(
    [("device_id", pa.int32()), ("meter", pa.string()), ("source_id", pa.int32()), ("time", TS),
     ("value", pa.int64()), ("raw", pa.int64()), ("kept_time", TS)]
)  # fmt: skip
METER_EVENT = pa.schema(
    [("device_id", pa.int32()), ("meter", pa.string()), ("time", TS), ("kind", pa.string()),
     ("value_before", pa.int64()), ("value_after", pa.int64()), ("time_before", TS)]
)  # fmt: skip
STATE_ROW = pa.schema(
    [("device_id", pa.int32()), ("target", pa.string()), ("last_poll_at", TS), ("last_ok_at", TS),
     ("last_meter_at", TS), ("reachable", pa.bool_()), ("error", pa.string()), ("version", pa.string()),
     ("rtt_ms", pa.float64()), ("uptime_s", pa.int64()), ("status_device", pa.string()),
     ("status_printer", pa.string()), ("errors", pa.list_(pa.string())), ("consecutive_misses", pa.int32()),
     ("trays", pa.string()), ("alerts", pa.string()), ("warnings", pa.string())]
)  # fmt: skip
STATUS_CHANGE = pa.schema(
    [("device_id", pa.int32()), ("time", TS), ("reachable", pa.bool_()), ("error", pa.string()),
     ("status_device", pa.string()), ("status_printer", pa.string()), ("errors", pa.list_(pa.string()))]
)  # fmt: skip


class DocumentError(ValueError):
    """A poll document that does not follow the contract; the message names the target and key."""


def parse_time(value: Any, where: str) -> datetime:
    """An ISO 8601 time as a naive UTC datetime to the second (the store keeps UTC)."""
    if isinstance(value, str):
        cached = _TIMES.get(value)
        if cached is not None:
            return cached
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise DocumentError(f"{where}: time {value!r} is not ISO 8601") from err
    else:
        raise DocumentError(f"{where}: time is missing")
    t = t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t
    t = t.replace(microsecond=0)
    if isinstance(value, str):
        if len(_TIMES) > 64:
            _TIMES.clear()
        _TIMES[value] = t
    return t


# A cycle's documents share one or two time strings: parse each once (a few cycles' worth kept).
_TIMES: dict[str, datetime] = {}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class Settings:
    meter_interval_s: float = 3600.0
    replacement_jump_percent: float = 10.0
    max_pages_per_minute: float = 300.0


@dataclass
class Batch:
    """The rows one batch of documents adds (Arrow tables) and its counts."""

    tables: dict[str, pa.Table]
    latest: dict[str, pa.Table]
    documents: int
    devices: int
    refused: list[str]
    #: Per row of ``latest["device_state"]``, whether it moved outside :data:`STATE_VOLATILE`
    #: (written as a replaced row); the others are the kept rows with new volatile columns,
    #: written as one columnar update (None: every row moved).
    state_moved: pa.Array | None = None


@dataclass
class _Latest:
    """The last kept row of every device's state, as a tuple in the order of ``device_state``'s
    columns (mostly strings, shared between devices), and the devices changed by the batch in
    hand. The meters' and supplies' rows are kept in columns (:class:`Columns`)."""

    columns: tuple[str, ...]
    rows: dict[Any, tuple[Any, ...]] = field(default_factory=dict)
    changed: set[Any] = field(default_factory=set)

    def table(self, schema: pa.Schema, keys: Iterable[Any] | None = None) -> pa.Table:
        """The rows of ``keys`` (default: the changed ones), in key order."""
        rows = [self.rows[k] for k in sorted(self.changed if keys is None else keys)]
        return pa.Table.from_pydict(
            {name: [r[i] for r in rows] for i, name in enumerate(self.columns)}, schema=schema
        )


SUPPLY_COLUMNS = tuple(SUPPLY_LATEST.names)
METER_COLUMNS = tuple(METER_LATEST.names)
#: Positions in a supply's latest row.
S_LEVEL, S_CAPACITY, S_PERCENT, S_STATE = (
    SUPPLY_COLUMNS.index(c) for c in ("level", "max_capacity", "percent", "state")
)
S_FIT = tuple(SUPPLY_COLUMNS.index(c) for c in FIT_COLUMNS)
#: Positions in a meter's latest row.
M_SOURCE, M_TIME, M_VALUE = (METER_COLUMNS.index(c) for c in ("source_id", "time", "value"))


class _Shared:
    """One object for equal strings and times held by many series (a meter's name, an OID, a
    rule, a cycle's time): the kept state holds each once rather than once per device."""

    def __init__(self) -> None:
        self._times: dict[datetime, datetime] = {}
        self._keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def key(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """One tuple for equal tuples of strings (a meter's source: name, OID, rule)."""
        return self._keys.setdefault(value, value) if len(self._keys) < 100_000 else self.row(value)

    def text(self, value: Any) -> Any:
        return sys.intern(value) if type(value) is str else value

    def time(self, value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        if len(self._times) > 100_000:  # bounded: times loaded from a store with a long history
            self._times.clear()
        return self._times.setdefault(value, value)

    def row(self, values: Any) -> tuple[Any, ...]:
        return tuple(self.time(v) if isinstance(v, datetime) else self.text(v) for v in values)


STATE_COLUMNS = tuple(STATE_ROW.names)
#: The columns of a device's state row that move with every poll of an unchanged printer (its
#: time, RTT, uptime): a row that moved only there is written as an update of these columns.
STATE_VOLATILE = ("last_poll_at", "last_ok_at", "last_meter_at", "rtt_ms", "uptime_s", "consecutive_misses")
#: Positions in a state row.
(T_TARGET, T_LAST_POLL, T_LAST_OK, T_LAST_METER, T_REACHABLE, T_ERROR, T_VERSION, T_RTT, T_UPTIME,
 T_STATUS_DEVICE, T_STATUS_PRINTER, T_ERRORS, T_MISSES, T_TRAYS, T_ALERTS,
 T_WARNINGS) = range(1, 17)  # fmt: skip
#: The positions of the columns that are not :data:`STATE_VOLATILE`.
T_STABLE = tuple(i for i, c in enumerate(STATE_COLUMNS) if c not in STATE_VOLATILE)


#: The parts of a reachable device's document that decide its supply, meter and counter rows
#: and the JSON strings of its state row (what :meth:`Ingestor._mark` fingerprints).
MARKED = ("supplies", "meters", "meter_evidence", "counters", "trays", "alerts", "warnings")


class Ingestor:
    """The last kept state of every series, and the rules that decide what a new batch keeps.

    A device whose last document kept nothing (no new series, no supply level kept, every meter
    and counter at its kept value) is *settled*: its fingerprint of :data:`MARKED` is kept, and
    a next document with the same fingerprint keeps nothing either (those rules do not depend
    on the time when no value moved), so its supplies, meters and counters are not gone
    through again and its state row's JSON strings are the kept ones. Most devices of a status
    cycle are settled; going through them was most of a cycle's write at 10,000 printers.

    A batch that says which documents are unchanged (:class:`~printwatch.mib.interpret.Documents`:
    the poller's answer cache) spares even the fingerprint: a settled device whose document is
    of the same :class:`~printwatch.mib.interpret.Answer` as the one it settled with has, by
    that, the same :data:`MARKED` parts (the answer's own objects), so only its state row is
    made (last poll, RTT, uptime) and its sighting filed."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.supply_ids: dict[tuple[int, int | None, str | None], int] = {}
        #: device id -> (series key, OID, rule) -> source id: the triples are shared by the
        #: devices of a model (one tuple each), a flat dict of 4-tuples held one per series.
        self.source_ids: dict[int, dict[tuple[str, str | None, str | None], int]] = {}
        self.sources = 0  # how many source ids are numbered
        #: The last kept row of every supply (by supply id) and of every meter and named
        #: counter (by device id and series key), in columns (see :mod:`printwatch.store.columns`).
        self.supplies = Columns(SUPPLY_LATEST)
        self.meters = Columns(METER_LATEST, nested=True)
        self.states = _Latest(STATE_COLUMNS)
        self.shared = _Shared()
        self.settled: dict[int, bytes] = {}  # device id -> the fingerprint it settled with
        #: device id -> the answer of the document it is settled with (see the class docstring)
        self.settled_answers: dict[int, Answer] = {}
        self.settled_hits = 0  # documents whose series were not gone through again
        self.state_updates = 0  # state rows written as an update of their volatile columns
        self._states_moved: set[int] = set()  # of the batch in hand (see Batch.state_moved)
        self._moved = False  # whether the device in hand changed a series (or numbered one)

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the last kept state from the store (on open and after a failed write). All of it
        is read before any is kept: a read that fails leaves the state as it was. A value the
        columns keep as their None (the lowest BIGINT, which no document gives) is read as None."""
        share = _Shared()
        supply_ids = {
            (d, i, share.text(desc)): s
            for s, d, i, desc in con.execute(
                "SELECT supply_id, device_id, supply_index, description FROM supplies"
            ).fetchall()
        }
        # One numbering of sources across meters and named counters (their reads share tables).
        source_ids: dict[int, dict[tuple[str, str | None, str | None], int]] = {}
        sources = 0
        for s, d, m, o, r in con.execute(
            "SELECT source_id, device_id, meter, oid, rule FROM meter_sources UNION ALL "
            "SELECT source_id, device_id, '@' || oid || ' ' || name, oid, source FROM counter_sources"
        ).fetchall():
            source_ids.setdefault(d, {})[share.key((m, o, r))] = s
            sources += 1
        # In key order: supply numbers fill the columns' array, not their map; a device's meter
        # names come sorted, so the names it holds part-way are those of every such device
        # (the file's own order is that of the rows' last changes, another for each device).
        supplies = Columns(SUPPLY_LATEST)
        query = f"SELECT {', '.join(SUPPLY_COLUMNS)} FROM supply_latest ORDER BY supply_id"
        for r in con.execute(query).fetchall():
            supplies.put(r[0], share.row(_loadable(r)))
        meters = Columns(METER_LATEST, nested=True)
        query = f"SELECT {', '.join(METER_COLUMNS)} FROM meter_latest ORDER BY device_id, meter"
        for r in con.execute(query).fetchall():
            meters.put((r[0], share.text(r[1])), share.row(_loadable(r)))
        supplies.changed.clear()
        meters.changed.clear()
        states = con.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM device_state").fetchall()
        self.shared, self.settled, self.settled_answers = share, {}, {}
        self.supply_ids, self.source_ids, self.sources = supply_ids, source_ids, sources
        self.supplies, self.meters = supplies, meters
        self.states = _Latest(STATE_COLUMNS, {r[0]: share.row(r) for r in states})

    def batches(self, docs: list[dict[str, Any]], size: int) -> Iterator[Batch]:
        """:meth:`batch` over ``docs`` a slice of ``size`` documents at a time, applying the
        rules as one batch of them all would (a device is filed once, by its first document,
        however many of its addresses answered), each slice's rows made when the caller asks
        for the next: written one after the other in one transaction, a cycle's rows are never
        all in memory at once (docs/benchmarks.md, "A cycle's memory")."""
        if size < 1:
            raise ValueError(f"a slice holds at least 1 document, not {size}")
        seen: set[int] = set()
        answers = answers_of(docs)
        for start in range(0, len(docs), size):
            part = docs[start : start + size]
            kept = answers[start : start + size] if answers is not None else None
            yield self.batch(part, seen=seen, answers=kept, first=start)

    def batch(
        self,
        docs: list[dict[str, Any]],
        *,
        seen: set[int] | None = None,
        answers: Sequence[Answer | None] | None = None,
        first: int = 0,
    ) -> Batch:
        """Apply the rules to a batch; the caller writes the result in one transaction.

        ``seen``: the devices filed by earlier slices of the same cycle (:meth:`batches`), to
        which this batch's are added; ``answers``: the documents' answers (default: those of
        ``docs`` if it is :class:`~printwatch.mib.interpret.Documents`); ``first``: the number
        of the batch's first document in the cycle (for the refusals' messages).

        Error handling: a document without a target, or with a target, time or section of the
        wrong type, is *refused* (listed with the reason, naming target and key) and the rest of
        the batch goes on; the registry and the kept state change only through this method.
        """
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in TABLE_SCHEMAS}
        refused: list[str] = []
        seen = set() if seen is None else seen
        mine: set[int] = set()
        self.supplies.changed.clear()
        self.meters.changed.clear()
        moved: set[int] = set()
        self._states_moved = moved
        if answers is None:
            answers = answers_of(docs)
        for n, doc in enumerate(docs, first):
            where = f"document {n} ({doc.get('target')!r})" if isinstance(doc, dict) else f"document {n}"
            answer = answers[n - first] if answers is not None else None
            try:
                device_id = self._one(doc, where, seen, out, answer)
            except DocumentError as err:
                refused.append(str(err))
                continue
            if device_id is not None:
                seen.add(device_id)
                mine.add(device_id)
        tables = {k: pa.Table.from_pylist(v, schema=TABLE_SCHEMAS[k]) for k, v in out.items()}
        devices = sorted(mine)
        latest = {
            "supply_latest": self.supplies.table(),
            "meter_latest": self.meters.table(),
            "device_state": self.states.table(STATE_ROW, devices),
        }
        state_moved = pa.array([d in moved for d in devices], pa.bool_())
        self.state_updates += len(devices) - len(moved & mine)
        return Batch(tables, latest, len(docs), len(mine), refused, state_moved)

    def _one(
        self,
        doc: Any,
        where: str,
        seen: set[int],
        out: dict[str, list[dict[str, Any]]],
        answer: Answer | None = None,
    ) -> int | None:
        if not isinstance(doc, dict) or not isinstance(doc.get("target"), str):
            raise DocumentError(f"{where}: not an object with a 'target' string")
        t = parse_time(doc.get("time"), where)
        for key, kind in (("supplies", list), ("meters", dict), ("counters", list)):
            if doc.get(key) is not None and not isinstance(doc[key], kind):
                raise DocumentError(f"{where}: {key!r} is not {'a list' if kind is list else 'an object'}")
        address = target_address(doc["target"])
        reachable = doc.get("reachable") is True
        if reachable:
            sys = _section(doc, "sys")
            result = self.registry.observe(
                Sighting(
                    address,
                    t,
                    _str(doc.get("serial")),
                    _str(doc.get("mac")),
                    _str(doc.get("vendor")),
                    _str(doc.get("model")),
                    _str(sys.get("name")),
                )
            )
            device_id = result.device_id
            if result.outcome == "excluded":
                raise DocumentError(f"{where}: address {address} is excluded")
        else:
            device_id = self.registry.device_at(address)
        if device_id is None or device_id in seen:
            return None  # an unknown address that did not answer; or a second address this cycle
        unchanged = answer is not None and self.settled_answers.get(device_id) is answer
        mark, same = self._settled_mark(device_id, doc, answer) if reachable else (None, False)
        self._state(device_id, doc, t, reachable, where, out, same=same, unchanged=unchanged)
        if same:
            self.settled_hits += 1
        elif reachable:
            self._moved = False
            self._supplies(device_id, doc.get("supplies"), t, where, out)
            self._meters(device_id, doc, t, where, out)
            self._counters(device_id, doc.get("counters"), t, out)
            if self._moved:
                mark = None
        # (a device that did not answer: its state row's JSON strings are the last reachable
        # ones', warnings none; it is not settled)
        self._settle(device_id, mark, answer)
        return device_id

    def _settle(self, device_id: int, mark: bytes | None, answer: Answer | None) -> None:
        """The device settled with the fingerprint ``mark`` and its document's ``answer``
        (``mark`` None: not settled)."""
        if mark is None:
            self.settled.pop(device_id, None)
            self.settled_answers.pop(device_id, None)
            return
        self.settled[device_id] = mark
        if answer is not None:
            self.settled_answers[device_id] = answer
        else:
            self.settled_answers.pop(device_id, None)

    def _settled_mark(
        self, device_id: int, doc: dict[str, Any], answer: Answer | None
    ) -> tuple[bytes | None, bool]:
        """A reachable document's fingerprint, and whether the device is settled with it: without
        hashing when the document is of the answer the device settled with."""
        if answer is not None and self.settled_answers.get(device_id) is answer:
            return self.settled[device_id], True  # the same parts as the settled document's
        mark = self._mark(doc)
        return mark, mark is not None and self.settled.get(device_id) == mark

    @staticmethod
    def _mark(doc: dict[str, Any]) -> bytes | None:
        """A fingerprint of the document's :data:`MARKED` parts (None when one is not plain
        data). ``marshal`` tells apart what equality would not (1, 1.0 and True; key order)."""
        try:
            data = marshal.dumps(tuple(doc.get(k) for k in MARKED))
        except ValueError:
            return None
        return hashlib.blake2b(data, digest_size=16).digest()

    def _state(self, device_id: int, doc: dict[str, Any], t: datetime, reachable: bool, where: str,
               out: dict[str, list[dict[str, Any]]], *, same: bool = False,
               unchanged: bool = False) -> None:  # fmt: skip
        """The device's state row (and a ``status_changes`` row when its status moved); a row
        that moved outside :data:`STATE_VOLATILE` is noted (the others' volatile columns are
        written as an update). ``same``: the document's :data:`MARKED` parts are those of the kept
        row's document. ``unchanged``: the document is of the same answer as the kept row's
        (so all but its own keys, ``OWN_KEYS``: target, version, RTT, time, uptime, are that
        document's): the kept row with those columns set, nothing else read."""
        kept = self.states.rows.get(device_id)
        has_meters = reachable and isinstance(doc.get("meters"), dict) and bool(doc["meters"])
        if unchanged and reachable and kept is not None and kept[T_REACHABLE]:
            row = list(kept)
            target, version = doc["target"], _str(doc.get("version"))
            row[T_LAST_POLL] = row[T_LAST_OK] = t = self.shared.time(t)
            if has_meters:
                row[T_LAST_METER], row[T_MISSES] = t, 0
            else:
                row[T_MISSES] = int(kept[T_MISSES] or 0) + 1
            row[T_RTT] = _float(doc.get("rtt_ms"))
            row[T_UPTIME] = _int64(_section(doc, "sys").get("uptime_s"))
            if target != kept[T_TARGET] or version != kept[T_VERSION]:
                row[T_TARGET], row[T_VERSION] = self.shared.text(target), self.shared.text(version)
                self._states_moved.add(device_id)
            self.states.rows[device_id] = tuple(row)
            return
        prev = None if kept is None else dict(zip(STATE_COLUMNS, kept, strict=True))
        if same and prev is not None:
            trays, alerts, warnings = prev["trays"], prev["alerts"], prev["warnings"]
        elif reachable:
            trays, alerts, warnings = (
                _json(doc.get("trays")),
                _json(doc.get("alerts")),
                _json(doc.get("warnings")),
            )
        else:
            trays, alerts, warnings = (prev or {}).get("trays"), (prev or {}).get("alerts"), None
        status = _section(doc, "status")
        errors = status.get("errors") if isinstance(status.get("errors"), list) else None
        sys = _section(doc, "sys")
        state = {
            "device_id": device_id,
            "target": doc["target"],
            "last_poll_at": t,
            "last_ok_at": t if reachable else (prev or {}).get("last_ok_at"),
            "last_meter_at": t if has_meters else (prev or {}).get("last_meter_at"),
            "reachable": reachable,
            "error": None if reachable else str(doc.get("error") or "unreachable"),
            "version": _str(doc.get("version")),
            "rtt_ms": _float(doc.get("rtt_ms")),
            "uptime_s": _int64(sys.get("uptime_s")),
            "status_device": _str(status.get("device")) if reachable else None,
            "status_printer": _str(status.get("printer")) if reachable else None,
            "errors": [str(e) for e in errors] if errors is not None and reachable else None,
            "consecutive_misses": 0 if has_meters else int((prev or {}).get("consecutive_misses") or 0) + 1,
            "trays": trays,
            "alerts": alerts,
            "warnings": warnings,
        }
        key = ("reachable", "error", "status_device", "status_printer", "errors")
        if prev is None or any(prev.get(k) != state[k] for k in key):
            out["status_changes"].append({"device_id": device_id, "time": t, **{k: state[k] for k in key}})
        new = self.states.rows[device_id] = self.shared.row(state[c] for c in STATE_COLUMNS)
        if kept is None or any(_differ(kept[i], new[i]) for i in T_STABLE):
            self._states_moved.add(device_id)

    def _supplies(self, device_id: int, supplies: Any, t: datetime, where: str,
                  out: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
        if supplies is None:
            return
        if not isinstance(supplies, list):
            raise DocumentError(f"{where}: 'supplies' is not a list")
        jump = self.settings.replacement_jump_percent
        for s in supplies:
            if not isinstance(s, dict):
                continue
            index, description = _int32(s.get("index")), self.shared.text(_str(s.get("description")))
            key = (device_id, index, description)
            supply_id = self.supply_ids.get(key)
            if supply_id is None:
                self._moved = True
                supply_id = len(self.supply_ids) + 1
                self.supply_ids[key] = supply_id
                out["supplies"].append(
                    {"supply_id": supply_id, "device_id": device_id, "supply_index": index,
                     "description": description, "type": _str(s.get("type")), "class": _str(s.get("class")),
                     "color": _str(s.get("color")), "unit": _str(s.get("unit")),
                     "coarse": bool(s.get("coarse"))}
                )  # fmt: skip
            row = {
                "supply_id": supply_id, "time": t, "level": _int32(s.get("level")),
                "max_capacity": _int32(s.get("max_capacity")), "percent": _float(s.get("percent")),
                "state": _str(s.get("state")),
            }  # fmt: skip
            last = self.supplies.get(supply_id)
            p, lp = row["percent"], None if last is None else last[S_PERCENT]
            if last is not None and not (
                row["state"] != last[S_STATE]
                or row["max_capacity"] != last[S_CAPACITY]
                or (p is None) != (lp is None)
                or (p is None and row["level"] != last[S_LEVEL])
                or (p is not None and lp is not None and abs(p - lp) >= 1.0)
            ):
                continue
            self._moved = True
            out["supply_levels_recent"].append(row)
            replaced = last is not None and p is not None and lp is not None and p - lp >= jump
            if replaced:
                out["supply_events"].append(
                    {
                        "supply_id": supply_id,
                        "time": t,
                        "kind": "replaced",
                        "percent_before": lp,
                        "percent_after": p,
                    }
                )
            fit: dict[str, Any] = {"cycle_start": t, "fit_n": 0, "fit_t_last_d": 0.0}
            fit.update(dict.fromkeys(("fit_st", "fit_sp", "fit_stt", "fit_stp"), 0.0))
            if last is not None and not replaced:
                fit = {k: last[i] for k, i in zip(FIT_COLUMNS, S_FIT, strict=True)}
            if p is not None:
                td = (t - fit["cycle_start"]).total_seconds() / 86_400
                fit.update(fit_n=fit["fit_n"] + 1, fit_t_last_d=td, fit_st=fit["fit_st"] + td,
                           fit_sp=fit["fit_sp"] + p, fit_stt=fit["fit_stt"] + td * td,
                           fit_stp=fit["fit_stp"] + td * p)  # fmt: skip
            kept = {**row, **fit}
            self.supplies.put(supply_id, self.shared.row(kept[c] for c in SUPPLY_COLUMNS))

    def _meters(self, device_id: int, doc: dict[str, Any], t: datetime, where: str,
                out: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
        meters = doc.get("meters")
        if meters is None:
            return
        if not isinstance(meters, dict):
            raise DocumentError(f"{where}: 'meters' is not an object")
        evidence = _section(doc, "meter_evidence")
        for meter, value in meters.items():
            v = _int64(value)
            if v is None:
                continue
            ev = _section(evidence, meter)
            oid, rule, raw = _str(ev.get("oid")), _str(ev.get("rule")), _int64(ev.get("raw"))
            source_id, new = self._source(device_id, str(meter), oid, rule)
            if new:
                out["meter_sources"].append(
                    {"source_id": source_id, "device_id": device_id, "meter": meter, "oid": oid, "rule": rule}
                )
            self._read(device_id, str(meter), source_id, v, raw, t, out)

    def _counters(
        self, device_id: int, counters: Any, t: datetime, out: dict[str, list[dict[str, Any]]]
    ) -> None:
        """The device's named counters: a series per (OID, name), kept by the meters' rules."""
        for c in counters or ():
            if not isinstance(c, dict):
                continue
            v, oid, name = _int64(c.get("value")), _str(c.get("oid")), _str(c.get("name"))
            if v is None or oid is None or name is None:
                continue
            key, source = counter_key(oid, name), _str(c.get("source"))
            source_id, new = self._source(device_id, key, oid, source)
            if new:
                out["counter_sources"].append(
                    {"source_id": source_id, "device_id": device_id, "name": name, "oid": oid,
                     "source": source, "unit": _str(c.get("unit"))}
                )  # fmt: skip
            self._read(device_id, key, source_id, v, None, t, out)

    def _source(self, device_id: int, key: str, oid: str | None, rule: str | None) -> tuple[int, bool]:
        """The series' source id, and whether it is new (numbered now; the caller files it)."""
        of_device = self.source_ids.get(device_id)
        if of_device is None:
            of_device = self.source_ids[device_id] = {}
        found = of_device.get((key, oid, rule))
        if found is not None:
            return found, False
        self._moved = True
        self.sources += 1
        of_device[self.shared.key((key, oid, rule))] = self.sources
        return self.sources, True

    def _read(self, device_id: int, meter: str, source_id: int, v: int, raw: int | None, t: datetime,
              out: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
        """Keep a read when the series is new or changed source, went backwards or jumped, or
        changed once ``meter_interval_s`` has passed since the last kept read."""
        last = self.meters.get((device_id, meter))
        keep = last is None or last[M_SOURCE] != source_id
        if last is None or keep or v != last[M_VALUE]:
            self._moved = True  # a read that may be kept at another time
        if last is not None:
            before, time_before = last[M_VALUE], last[M_TIME]
            elapsed_s = (t - time_before).total_seconds()
            if v < before:
                keep = True
                out["meter_events"].append(
                    {"device_id": device_id, "meter": meter, "time": t, "kind": "backwards",
                     "value_before": before, "value_after": v, "time_before": time_before}
                )  # fmt: skip
            elif v - before > self.settings.max_pages_per_minute * max(elapsed_s / 60, 1.0):
                keep = True
                out["meter_events"].append(
                    {"device_id": device_id, "meter": meter, "time": t, "kind": "jump",
                     "value_before": before, "value_after": v, "time_before": time_before}
                )  # fmt: skip
            elif v != before and elapsed_s >= self.settings.meter_interval_s:
                keep = True
        if not keep:
            return
        row = {"source_id": source_id, "time": t, "value": v, "raw": raw if raw != v else None}
        out["meter_reads_recent"].append(row)
        latest = {"device_id": device_id, "meter": meter, **row, "kept_time": t}
        key = (device_id, self.shared.text(meter))
        self.meters.put(key, self.shared.row(latest[c] for c in METER_COLUMNS))


def counter_key(oid: str, name: str) -> str:
    """A named counter's series key in ``meter_latest`` and ``meter_events`` (never a meter's
    name: those are lower-case words)."""
    return f"@{oid} {name}"


TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "status_changes": STATUS_CHANGE,
    "supplies": SUPPLY_SERIES,
    "supply_levels_recent": SUPPLY_ROW,
    "supply_events": SUPPLY_EVENT,
    "meter_sources": METER_SOURCE,
    "counter_sources": COUNTER_SOURCE,
    "meter_reads_recent": METER_ROW,
    "meter_events": METER_EVENT,
}


def _differ(a: Any, b: Any) -> bool:
    """Whether two values of a state row's column differ (as DuckDB would keep them: 1 and
    True are told apart)."""
    return a is not b and (type(a) is not type(b) or a != b)


def _json(value: Any) -> str:
    return "[]" if value == [] else json.dumps(value)


def _section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int32(value: Any) -> int | None:
    v = _int(value)
    return v if v is not None and -(2**31) <= v < 2**31 else None


def _loadable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row read from the store with the columns' None (:data:`NULL`) as None."""
    return tuple(None if type(v) is int and v == NULL else v for v in row)


def _int64(value: Any) -> int | None:
    """An integer a BIGINT column holds (a meter of a document not made by the poller may be
    larger: not kept, like a value that is not a number)."""
    v = _int(value)
    return v if v is not None and -(2**63) < v < 2**63 else None

"""Alerts open once, stay open while true, close when cleared: their state in the store.

:func:`apply` takes one evaluation's observations (:mod:`printwatch.alerts.rules`) and, in one
transaction of the store:

* counts, per (device, kind, subject), the polls in a row that the condition was ``on`` or
  ``off`` (``alert_conditions``; a ``hold`` resets both), so that a restart keeps them;
* opens an alert (a new ``alert_log`` row) when a condition was ``on`` for ``open_after`` polls
  in a row (``offline``: the configured misses; the rest: 1), while none is open for it;
* updates an open alert's ``last_seen``, ``detail`` and ``severity`` while it is ``on``;
* closes it (``closed_at``) after ``clear_after`` polls ``off`` in a row;
* queues a notification per channel for each opening (and closing, if wanted) in
  ``alert_outbox``, in the same transaction: an alert is never recorded without its
  notifications, nor the reverse.

``watched`` says which kinds each device was observed for: a subject tracked before that an
observation no longer mentions (a fault gone from the printer, a supply gone) counts as ``off``.

Error handling: a failing write rolls the transaction back and raises ``duckdb.Error`` (the
caller logs it; the next evaluation starts from the state before).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from printwatch.alerts.rules import Observation
from printwatch.store import transaction

Key = tuple[int, str, str]


@dataclass
class Outcome:
    """What one evaluation changed."""

    opened: list[int] = field(default_factory=list)  # alert ids
    closed: list[int] = field(default_factory=list)
    still_open: int = 0
    queued: int = 0  # notifications added to the outbox


@dataclass
class _Open:
    alert_id: int
    severity: str
    detail: str | None


def _load(con: duckdb.DuckDBPyConnection) -> tuple[dict[Key, list[int]], dict[Key, _Open]]:
    counts = {
        (int(d), str(k), str(s)): [int(on), int(off)]
        for d, k, s, on, off in con.execute(
            "SELECT device_id, kind, subject, on_count, off_count FROM alert_conditions"
        ).fetchall()
    }
    open_ = {
        (int(d), str(k), str(s)): _Open(int(a), str(sev), det)
        for a, d, k, s, sev, det in con.execute(
            "SELECT alert_id, device_id, kind, subject, severity, detail FROM alert_log "
            "WHERE closed_at IS NULL"
        ).fetchall()
    }
    return counts, open_


def _next_id(con: duckdb.DuckDBPyConnection, column: str, table: str) -> int:
    row = con.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()
    return int(row[0] if row else 0) + 1


def apply(
    con: duckdb.DuckDBPyConnection,
    observations: Iterable[Observation],
    watched: Mapping[int, Sequence[str]],
    now: dt.datetime,
    *,
    open_after: Mapping[str, int],
    clear_after: int,
    channels: Sequence[str],
    notify_closed: bool = True,
) -> Outcome:
    """See the module's docstring. ``now`` is the poll's time (naive UTC)."""
    counts, open_ = _load(con)
    seen = _seen(observations, {*counts, *open_}, watched)
    outcome = Outcome()
    new_alerts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    closes: list[int] = []
    next_alert = _next_id(con, "alert_id", "alert_log")
    for key, o in seen.items():
        on, off = counts[key] = _counted(counts.get(key, [0, 0]), o.state)
        alert = open_.get(key)
        if alert is not None:
            if o.state == "on":
                updates.append(
                    {"alert_id": alert.alert_id, "last_seen": now, "detail": o.detail, "severity": o.severity}
                )
            elif o.state == "off" and off >= clear_after:
                closes.append(alert.alert_id)
                del open_[key]
        elif o.state == "on" and on >= open_after.get(o.kind, 1):
            new_alerts.append(
                {
                    "alert_id": next_alert,
                    "device_id": o.device_id,
                    "kind": o.kind,
                    "subject": o.subject,
                    "severity": o.severity,
                    "opened_at": now,
                    "closed_at": None,
                    "last_seen": now,
                    "detail": o.detail,
                    "notified_at": None,
                }
            )
            open_[key] = _Open(next_alert, o.severity, o.detail)
            next_alert += 1
    outcome.opened = [int(str(a["alert_id"])) for a in new_alerts]
    outcome.closed = closes
    outcome.still_open = len(open_)
    # Conditions worth remembering: a count under way, or an open alert's.
    keep = [
        {
            "device_id": k[0],
            "kind": k[1],
            "subject": k[2],
            "on_count": c[0],
            "off_count": c[1],
            "updated_at": now,
        }
        for k, c in counts.items()
        if k in open_ or c[0] > 0
    ]
    events = [(a, "opened") for a in outcome.opened]
    if notify_closed:
        events += [(a, "closed") for a in closes]
    notes = _notes(events, channels, now, _next_id(con, "notification_id", "alert_outbox"))
    outcome.queued = len(notes)
    _write(con, keep, new_alerts, updates, closes, notes, now)
    return outcome


def _seen(
    observations: Iterable[Observation], tracked: set[Key], watched: Mapping[int, Sequence[str]]
) -> dict[Key, Observation]:
    """The observations by key, with ``off`` for a tracked subject of a watched kind that they
    no longer mention."""
    seen: dict[Key, Observation] = {}
    for o in observations:
        seen[(o.device_id, o.kind, o.subject)] = o
    for key in tracked:
        device_id, kind, subject = key
        if key not in seen and kind in watched.get(device_id, ()):
            seen[key] = Observation(device_id, kind, subject, "off")
    return seen


def _counted(count: list[int], state: str) -> list[int]:
    """The polls in a row ``[on, off]`` after one more in ``state`` (a ``hold`` resets both)."""
    if state == "on":
        return [count[0] + 1, 0]
    if state == "off":
        return [0, count[1] + 1]
    return [0, 0]


def _notes(
    events: Sequence[tuple[int, str]], channels: Sequence[str], now: dt.datetime, next_note: int
) -> list[dict[str, object]]:
    """An outbox row per event and channel, numbered from ``next_note``."""
    notes: list[dict[str, object]] = []
    for alert_id, event in events:
        for channel in channels:
            notes.append(
                {
                    "notification_id": next_note,
                    "alert_id": alert_id,
                    "event": event,
                    "channel": channel,
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "sent_at": None,
                    "last_error": None,
                }
            )
            next_note += 1
    return notes


def _write(
    con: duckdb.DuckDBPyConnection,
    keep: list[dict[str, object]],
    new_alerts: list[dict[str, object]],
    updates: list[dict[str, object]],
    closes: list[int],
    notes: list[dict[str, object]],
    now: dt.datetime,
) -> None:
    """The evaluation's changes in one transaction (see the module's docstring)."""
    with transaction(con):
        con.execute("DELETE FROM alert_conditions")
        _insert(con, "alert_conditions", keep, CONDITION_SCHEMA)
        _insert(con, "alert_log", new_alerts, ALERT_SCHEMA)
        if updates:
            con.register("pw_seen", pa.Table.from_pylist(updates, schema=UPDATE_SCHEMA))
            try:
                con.execute(
                    "UPDATE alert_log SET last_seen = s.last_seen, detail = s.detail, severity = s.severity "
                    "FROM pw_seen s WHERE alert_log.alert_id = s.alert_id"
                )
            finally:
                con.unregister("pw_seen")
        if closes:
            con.execute("UPDATE alert_log SET closed_at = ? WHERE list_contains(?, alert_id)", [now, closes])
        _insert(con, "alert_outbox", notes, OUTBOX_SCHEMA)


TS = pa.timestamp("us")
CONDITION_SCHEMA = pa.schema(
    [
        ("device_id", pa.int32()),
        ("kind", pa.string()),
        ("subject", pa.string()),
        ("on_count", pa.int32()),
        ("off_count", pa.int32()),
        ("updated_at", TS),
    ]
)
ALERT_SCHEMA = pa.schema(
    [
        ("alert_id", pa.int32()),
        ("device_id", pa.int32()),
        ("kind", pa.string()),
        ("subject", pa.string()),
        ("severity", pa.string()),
        ("opened_at", TS),
        ("closed_at", TS),
        ("last_seen", TS),
        ("detail", pa.string()),
        ("notified_at", TS),
    ]
)
UPDATE_SCHEMA = pa.schema(
    [("alert_id", pa.int32()), ("last_seen", TS), ("detail", pa.string()), ("severity", pa.string())]
)
OUTBOX_SCHEMA = pa.schema(
    [
        ("notification_id", pa.int32()),
        ("alert_id", pa.int32()),
        ("event", pa.string()),
        ("channel", pa.string()),
        ("created_at", TS),
        ("attempts", pa.int32()),
        ("next_attempt_at", TS),
        ("sent_at", TS),
        ("last_error", pa.string()),
    ]
)


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]], schema: pa.Schema
) -> None:
    if not rows:
        return
    con.register("pw_rows", pa.Table.from_pylist(rows, schema=schema))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM pw_rows")
    finally:
        con.unregister("pw_rows")

"""The notification outbox in the store: what is due, and what became of each try.

A notification is a row of ``alert_outbox`` (an alert's ``opened`` or ``closed`` event for one
channel: ``email``, or ``webhook:URL``), written in the same transaction as the alert. It stays
until delivered (``sent_at``); a try that fails counts an attempt, keeps the error and waits
before the next try, twice as long each time (a minute, two, four... at most ``retry_max_s``).
Nothing is dropped: a server that is down for a day gets every notification when it is back.

Delivery is at least once: a crash after the server took a message and before ``sent_at`` was
written sends it again on start. Receivers that must not see a duplicate can use the
notification's id (the e-mail's ``Message-ID``, the webhook's ``id`` fields).

Error handling: only ``duckdb.Error`` (a failing store), raised to the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from printwatch.store import transaction

#: Notifications sent in one message (one e-mail, one webhook POST); the rest waits its turn.
BATCH = 200
FIRST_RETRY_S = 60.0


@dataclass(frozen=True)
class Notification:
    """A due notification with what the message says about its alert and device."""

    notification_id: int
    channel: str
    event: str  # opened | closed
    attempts: int
    alert: Mapping[str, Any]  # a row of the ``alerts`` view


def due(con: duckdb.DuckDBPyConnection, channels: Sequence[str], now: dt.datetime) -> list[Notification]:
    """Undelivered notifications of the configured ``channels`` whose next try is due, oldest first."""
    if not channels:
        return []
    cur = con.execute(
        "SELECT o.notification_id, o.channel, o.event, o.attempts, a.* "
        "FROM alert_outbox o JOIN alerts a USING (alert_id) "
        "WHERE o.sent_at IS NULL AND o.next_attempt_at <= ? AND list_contains(?, o.channel) "
        "ORDER BY o.channel, o.notification_id",
        [now, list(channels)],
    )
    names = [d[0] for d in cur.description or ()]
    out: list[Notification] = []
    per_channel: dict[str, int] = {}
    for row in cur.fetchall():
        r = dict(zip(names, row, strict=True))
        channel = str(r["channel"])
        if per_channel.get(channel, 0) >= BATCH:
            continue
        per_channel[channel] = per_channel.get(channel, 0) + 1
        alert = {k: v for k, v in r.items() if k not in ("notification_id", "channel", "event", "attempts")}
        out.append(
            Notification(int(r["notification_id"]), channel, str(r["event"]), int(r["attempts"]), alert)
        )
    return out


def record(
    con: duckdb.DuckDBPyConnection,
    sent: Sequence[Notification],
    failed: Sequence[tuple[Notification, str]],
    now: dt.datetime,
    *,
    retry_max_s: float,
) -> None:
    """Writes what the tries did, in one transaction: ``sent_at`` (and the alert's
    ``notified_at`` for an opening), or one more attempt, the error and the next try's time."""
    with transaction(con):
        if sent:
            ids = [n.notification_id for n in sent]
            con.execute(
                "UPDATE alert_outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE list_contains(?, notification_id)",
                [now, ids],
            )
            opened = sorted({int(n.alert["alert_id"]) for n in sent if n.event == "opened"})
            con.execute(
                "UPDATE alert_log SET notified_at = ? "
                "WHERE notified_at IS NULL AND list_contains(?, alert_id)",
                [now, opened],
            )
        for n, error in failed:
            wait_s = min(FIRST_RETRY_S * 2**n.attempts, retry_max_s)
            con.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE notification_id = ?",
                [error[:500], now + dt.timedelta(seconds=wait_s), n.notification_id],
            )


def pending(con: duckdb.DuckDBPyConnection) -> int:
    """Notifications not delivered yet (a queue length for /metrics)."""
    row = con.execute("SELECT count(*) FROM alert_outbox WHERE sent_at IS NULL").fetchone()
    return int(row[0]) if row else 0

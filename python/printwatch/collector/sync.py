"""The sync answer the collector sends back on sync and register messages, and billing due reads.

:func:`sync_for` is what the appliance receives: the billing schedule and which devices still
owe the current cycle's read (:func:`due_reads`), the services to run and the site's settings.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from printwatch.collector import settings
from printwatch.collector.storage import Connection
from printwatch.uplink.messages import cycle_label


def cycle_start(cycle: str, day: int, now: dt.datetime) -> dt.datetime:
    """The start of the billing cycle that ``now`` (UTC) is in: 00:00 UTC of its label's date."""
    return dt.datetime.fromisoformat(cycle_label(cycle, day, now.date()))


def due_reads(
    con: Connection,
    site: str,
    now: dt.datetime,
    grace: dt.timedelta = dt.timedelta(0),
    *,
    key: str | None = None,
) -> tuple[str, list[int]]:
    """The current cycle's label (:func:`~printwatch.uplink.messages.cycle_label` of the UTC date
    of ``now``) and the devices of ``site``'s current appliance with no billing read of that label
    (only once ``grace`` has passed since the cycle's start): the collector's device numbers, or
    with ``key`` that appliance's own numbers (what its sync answer names); none once the cycle
    is closed. A read counts by the label it carries, never by its time: the appliance's clock is
    not the collector's."""
    row = con.execute("SELECT billing_cycle, billing_day FROM sites WHERE site_id = ?", [site]).fetchone()
    cycle, day = (str(row[0]), int(row[1])) if row else ("monthly", 1)
    start = cycle_start(cycle, day, now)
    label = start.date().isoformat()
    if now < start + grace:
        return label, []
    # A closed cycle (printwatch.collector.billing) asks for nothing more.
    if con.execute("SELECT 1 FROM billing_closed WHERE site_id = ? AND cycle = ?", [site, label]).fetchall():
        return label, []
    # The devices of the site's current appliance (a replaced one's stay in the history).
    rows = con.execute(
        "SELECT k.n, k.wire_n FROM device_keys k "
        "JOIN sites s ON s.site_id = k.site_id AND s.key_id = k.key_id "
        "WHERE k.site_id = ? AND NOT EXISTS (SELECT 1 FROM meter_reads r WHERE r.site_id = k.site_id "
        "AND r.n = k.n AND r.source = 'billing' AND r.cycle = ?) ORDER BY k.n",
        [site, label],
    ).fetchall()
    return label, [int(r[1] if key is not None else r[0]) for r in rows]


def sync_for(con: Connection, site: str, now: dt.datetime, key: str | None = None) -> dict[str, Any]:
    """The sync answer: the settings' version (``sv``), the billing schedule and what is due,
    the services to run, and the settings the appliance applies (with its upload times: set by
    support, else assigned, see :mod:`printwatch.collector.settings`)."""
    row = con.execute(
        "SELECT billing_cycle, billing_day, settings, settings_version FROM sites WHERE site_id = ?", [site]
    ).fetchone()
    if row is None:
        return {}
    stored = json.loads(row[2]) if row[2] else {}
    stored = stored if isinstance(stored, dict) else {}
    cycle, due = due_reads(con, site, now, key=key)
    return {
        "sv": int(row[3]),
        "billing": {"cycle": row[0], "day": int(row[1]), "current": cycle, "due": due},
        "services": settings.services(stored),
        "settings": settings.for_sync(site, stored),
    }

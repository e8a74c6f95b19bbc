"""The console's questions to the store, each limited to what the asking principal may see
(its :meth:`~printwatch.collector.roles.Principal.scope_sql`), the same SQL on DuckDB and on
PostgreSQL. Run in the store's one thread (``state.db``); rows are dicts (times as
``datetime``, naive UTC).

A site's health (:func:`sites_health`): its last upload, the appliance's version (from its
latest registration), devices answering on the latest day reported (in the last two days), the
outbox lag (how long its latest message waited on the appliance: received minus sent) and
sequence gaps (messages
numbered up to the last accepted one that the store does not hold: none on DuckDB, which keeps
every message; on PostgreSQL the months dropped by the retention), the byte budget used today
(UTC, of the site's quota), the billing reads missing for the current cycle, and the reorders
waiting (the supplies queue's orders not yet installed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from printwatch.collector.handlers.state import QUOTA_BYTES_PER_DAY
from printwatch.collector.roles import Principal
from printwatch.collector.storage import Connection
from printwatch.collector.sync import cycle_start

#: Sites the Sites page lists at a time (and at most).
MAX_SITES = 200
#: Rows a device search (a page), a site's transmission history, a device's history answer at most.
MAX_DEVICES = 500
MAX_MESSAGES = 500
MAX_POINTS = 5000
#: A billing read is missing this long after its cycle began (as ``collector missing`` says).
MISSING_GRACE = dt.timedelta(days=1)
#: "Devices answering" looks this far back for a site's latest day reported (else: unknown;
#: its last upload says how long it has been silent).
ANSWERING_DAYS = 2


def rows(con: Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _quota(settings: object) -> int:
    try:
        quota = json.loads(settings).get("quota_bytes_per_day") if isinstance(settings, str) else None
    except ValueError:
        quota = None
    if isinstance(settings, dict):
        quota = settings.get("quota_bytes_per_day")
    return (
        quota if isinstance(quota, int) and not isinstance(quota, bool) and quota > 0 else QUOTA_BYTES_PER_DAY
    )


def count_sites(con: Connection, who: Principal) -> int:
    where, params = who.scope_sql("site_id")
    return int(con.execute(f"SELECT count(*) FROM sites WHERE {where}", params).fetchall()[0][0])


def sites_health(
    con: Connection,
    who: Principal,
    now: dt.datetime,
    site: str | None = None,
    *,
    limit: int = MAX_SITES,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The sites ``who`` may see (or ``site`` alone), a page of ``limit`` from ``offset`` in the
    order of their ids, with their health (the module's docstring)."""
    where, params = who.scope_sql("s.site_id")
    if site is not None:
        where, params = f"{where} AND s.site_id = ?", [*params, site]
    day = dt.datetime(now.year, now.month, now.day)
    found = rows(
        con,
        "SELECT s.site_id, s.name, s.contact, s.enrolled_at, s.last_seen AS last_upload, s.last_seq, "
        "s.settings, s.token_hash IS NOT NULL AS token_open, s.token_expires_at, s.billing_cycle, "
        "s.billing_day, "
        "(SELECT count(*) FROM devices d WHERE d.site_id = s.site_id) AS devices, "
        "(SELECT count(*) FROM messages m WHERE m.site_id = s.site_id AND m.seq <= s.last_seq) AS held, "
        "(SELECT coalesce(sum(m.bytes), 0) FROM messages m WHERE m.site_id = s.site_id "
        " AND m.received_at >= ?) AS bytes_today, "
        "(SELECT m.payload->'data'->'appliance'->>'version' FROM messages m WHERE m.site_id = s.site_id "
        " AND m.kind = 'register' ORDER BY m.seq DESC LIMIT 1) AS version, "
        "(SELECT m.received_at - m.sent_at FROM messages m WHERE m.site_id = s.site_id "
        " ORDER BY m.seq DESC LIMIT 1) AS lag, "
        "(SELECT count(*) FROM supply_orders o WHERE o.site_id = s.site_id AND o.state <> 'installed') "
        " AS reorders_waiting "
        f"FROM sites s WHERE {where} ORDER BY s.site_id LIMIT ? OFFSET ?",
        [day, *params, max(0, min(limit, MAX_SITES)), max(0, offset)],
    )
    answering = _answering(con, who, now, [str(r["site_id"]) for r in found])
    missing = _missing_reads(con, who, found, now)
    for r in found:
        quota = _quota(r.pop("settings"))
        r["budget_used_pct"] = round(100.0 * int(r["bytes_today"]) / quota, 1)
        r["sequence_gaps"] = max(0, int(r["last_seq"]) - int(r.pop("held")))
        lag = r["lag"]
        r["lag_s"] = None if lag is None else round(lag.total_seconds())
        del r["lag"]
        r["devices_answering"] = answering.get(r["site_id"])
        r["missing_reads"] = missing.get(r["site_id"], 0)
        del r["billing_cycle"], r["billing_day"]
    return found


def _missing_reads(
    con: Connection, who: Principal, sites: list[dict[str, Any]], now: dt.datetime
) -> dict[str, int]:
    """Per enrolled site, the devices of its current appliance without a billing read of the
    current cycle, a day after the cycle began, unless the cycle is closed (as
    :func:`printwatch.collector.sync.due_reads` counts them, for every site in one query)."""
    where, params = who.scope_sql("site_id")
    closed = {
        (str(r[0]), str(r[1]))
        for r in con.execute(f"SELECT site_id, cycle FROM billing_closed WHERE {where}", params).fetchall()
    }
    due: list[tuple[str, str]] = []
    for r in sites:
        start = cycle_start(str(r["billing_cycle"]), int(r["billing_day"]), now)
        label = start.date().isoformat()
        if r["enrolled_at"] and now >= start + MISSING_GRACE and (r["site_id"], label) not in closed:
            due.append((r["site_id"], label))
    by_cycle: dict[str, list[str]] = {}
    for site, label in due:
        by_cycle.setdefault(label, []).append(site)
    counts: dict[str, int] = {}
    for label, sites_of in by_cycle.items():  # most sites share a cycle: a query or two
        marks = ", ".join("?" for _ in sites_of)
        found = con.execute(  # the cycle's reads first, then one hash anti-join (not a probe each)
            "SELECT k.site_id, count(*) FROM device_keys k "
            "JOIN sites s ON s.site_id = k.site_id AND s.key_id = k.key_id "
            "LEFT JOIN (SELECT DISTINCT site_id, n FROM meter_reads WHERE source = 'billing' AND cycle = ? "
            f"  AND site_id IN ({marks})) r ON r.site_id = k.site_id AND r.n = k.n "
            f"WHERE k.site_id IN ({marks}) AND r.n IS NULL GROUP BY k.site_id",
            [label, *sites_of, *sites_of],
        ).fetchall()
        counts.update({str(site): int(count) for site, count in found})
    return counts


def _answering(con: Connection, who: Principal, now: dt.datetime, sites: list[str]) -> dict[str, int]:
    """Devices that answered on each of ``sites``' latest day reported within
    :data:`ANSWERING_DAYS` (the days before are not read: on PostgreSQL, a month's partition or
    two)."""
    if not sites:
        return {}
    where, params = who.scope_sql("site_id")
    where, params = f"{where} AND site_id IN ({', '.join('?' for _ in sites)})", [*params, *sites]
    since = now - dt.timedelta(days=ANSWERING_DAYS)
    found = con.execute(
        "SELECT site_id, count(DISTINCT n) FILTER (WHERE answered > 0) FROM ("
        "  SELECT site_id, n, answered, time, max(time) OVER (PARTITION BY site_id) AS latest "
        f"  FROM device_days WHERE time >= ? AND {where}) d "
        "WHERE time = latest GROUP BY site_id",
        [since, *params],
    ).fetchall()
    return {str(site): int(count) for site, count in found}


def transmissions(con: Connection, site: str, limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
    """The site's latest messages, newest first (what its appliance sent, byte counts)."""
    return rows(
        con,
        "SELECT seq, kind, sent_at, received_at, bytes FROM messages WHERE site_id = ? "
        "ORDER BY seq DESC LIMIT ?",
        [site, limit],
    )


def message(con: Connection, site: str, seq: int) -> Any:
    """One message as the appliance sent it (its decoded payload), or None."""
    row = con.execute("SELECT payload FROM messages WHERE site_id = ? AND seq = ?", [site, seq]).fetchone()
    if row is None:
        return None
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _device_filter(who: Principal, text: str, site: str | None) -> tuple[str, list[Any]]:
    where, params = who.scope_sql("d.site_id")
    if site:
        where, params = f"{where} AND d.site_id = ?", [*params, site]
    if text:
        like = _like(text)
        where += (
            " AND (lower(d.serial) LIKE ? ESCAPE '\\' OR lower(d.model) LIKE ? ESCAPE '\\'"
            " OR lower(d.name) LIKE ? ESCAPE '\\')"
        )
        params = [*params, like, like, like]
    return where, params


def search_devices(
    con: Connection,
    who: Principal,
    *,
    text: str = "",
    site: str | None = None,
    limit: int = MAX_DEVICES,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Devices ``who`` may see whose serial, model or name holds ``text`` (any case), at ``site``:
    a page of ``limit`` from ``offset``."""
    where, params = _device_filter(who, text, site)
    return rows(
        con,
        "SELECT d.site_id, d.n, d.serial, d.vendor, d.model, d.name, d.address, d.registered_at, "
        "(SELECT max(l.time) FROM meter_latest l WHERE l.site_id = d.site_id AND l.n = d.n) AS last_read "
        f"FROM devices d WHERE {where} ORDER BY d.site_id, d.n LIMIT ? OFFSET ?",
        [*params, max(0, min(limit, MAX_DEVICES)), max(0, offset)],
    )


def count_devices(con: Connection, who: Principal, *, text: str = "", site: str | None = None) -> int:
    """How many devices :func:`search_devices` pages over."""
    where, params = _device_filter(who, text, site)
    return int(con.execute(f"SELECT count(*) FROM devices d WHERE {where}", params).fetchall()[0][0])


def device(con: Connection, site: str, n: int) -> dict[str, Any] | None:
    found = rows(
        con,
        "SELECT site_id, n, serial, vendor, model, mac, name, address, registered_at, supplies "
        "FROM devices WHERE site_id = ? AND n = ?",
        [site, n],
    )
    return found[0] if found else None


def meter_history(con: Connection, site: str, n: int) -> list[dict[str, Any]]:
    return rows(
        con,
        "SELECT time, meter, value, source, cycle FROM meter_reads WHERE site_id = ? AND n = ? "
        "ORDER BY time DESC, meter LIMIT ?",
        [site, n, MAX_POINTS],
    )[::-1]


def supply_history(con: Connection, site: str, n: int) -> list[dict[str, Any]]:
    return rows(
        con,
        "SELECT time, supply_index, percent FROM supply_levels WHERE site_id = ? AND n = ? "
        "ORDER BY time DESC, supply_index LIMIT ?",
        [site, n, MAX_POINTS],
    )[::-1]


def device_reorders(con: Connection, site: str, n: int) -> list[dict[str, Any]]:
    return rows(
        con,
        "SELECT time, supply_index, percent, why, days_to_empty FROM reorders WHERE site_id = ? AND n = ? "
        "ORDER BY time DESC LIMIT ?",
        [site, n, MAX_MESSAGES],
    )


def device_snapshots(con: Connection, site: str, n: int) -> list[dict[str, Any]]:
    found = rows(
        con,
        "SELECT time, seq, doc FROM snapshots WHERE site_id = ? AND n = ? ORDER BY time DESC LIMIT 50",
        [site, n],
    )
    for r in found:
        doc = r["doc"]
        r["doc"] = doc if isinstance(doc, str) else json.dumps(doc)
    return found


def identity_history(
    con: Connection, who: Principal, site: str, n: int, serial: str | None
) -> list[dict[str, Any]]:
    """How the collector knows the device: each appliance key that numbered it (a replaced
    appliance has a new key), and the same serial elsewhere (moved between sites or renumbered),
    within what ``who`` may see."""
    known = [
        {"what": "appliance key", "site_id": site, "n": n, "key_id": r[0], "appliance_n": r[1]}
        for r in con.execute(
            "SELECT key_id, wire_n FROM device_keys WHERE site_id = ? AND n = ? ORDER BY key_id", [site, n]
        ).fetchall()
    ]
    if serial:
        where, params = who.scope_sql("site_id")
        for r in con.execute(
            "SELECT site_id, n, registered_at FROM devices WHERE serial = ? AND NOT (site_id = ? AND n = ?) "
            f"AND {where} ORDER BY registered_at",
            [serial, site, n, *params],
        ).fetchall():
            known.append({"what": "same serial", "site_id": r[0], "n": r[1], "registered_at": r[2]})
    return known

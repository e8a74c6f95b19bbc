"""The MSP's read-only view: sites, devices, latest reads, reorder triggers, missing billing
reads, and the named counters of the latest billing reads. The same rows for the CLI
(``printwatch collector sites|devices|reads|counters|reorders|missing``)
and the JSON API (``GET /api/...``).

Error handling: the backend's errors propagate (``duckdb.Error``, ``psycopg.Error``: the CLI
prints them, the API answers 500).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from printwatch.clock import naive_utcnow
from printwatch.collector.storage import Connection
from printwatch.collector.sync import due_reads

VIEWS = ("sites", "devices", "reads", "counters", "reorders", "missing")


def _rows(con: Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or ()]
    return [
        {
            k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v)
            for k, v in zip(names, r, strict=True)
        }
        for r in cur.fetchall()
    ]


def _site(site: str | None, table: str = "") -> tuple[str, list[Any]]:
    prefix = f"{table}." if table else ""
    return (f"{prefix}site_id = ?", [site]) if site else ("true", [])


def sites(con: Connection, site: str | None = None) -> list[dict[str, Any]]:
    where, params = _site(site)
    return _rows(
        con,
        "SELECT site_id, name, contact, enrolled_at, key_id, last_seq, last_seen, billing_cycle, "
        "billing_day, "
        "(SELECT count(*) FROM devices d WHERE d.site_id = s.site_id) AS devices, "
        "token_hash IS NOT NULL AS token_open "
        f"FROM sites s WHERE {where} ORDER BY site_id",
        params,
    )


def devices(con: Connection, site: str | None = None) -> list[dict[str, Any]]:
    where, params = _site(site)
    return _rows(
        con,
        "SELECT site_id, n, serial, vendor, model, mac, name, address, registered_at, "
        "(SELECT max(time) FROM meter_reads r WHERE r.site_id = d.site_id AND r.n = d.n) AS last_read "
        f"FROM devices d WHERE {where} ORDER BY site_id, n",
        params,
    )


def reads(con: Connection, site: str | None = None) -> list[dict[str, Any]]:
    """The latest read of every device's meters (billing or aggregate, whichever is newer)."""
    where, params = _site(site)
    return _rows(
        con,
        "SELECT r.site_id, r.n, d.serial, r.meter, r.value, r.time, r.source, r.cycle FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY site_id, n, meter ORDER BY time DESC, seq DESC) AS k "
        f"  FROM meter_reads WHERE {where}) r "
        "LEFT JOIN devices d USING (site_id, n) WHERE k = 1 ORDER BY r.site_id, r.n, r.meter",
        params,
    )


def counters(con: Connection, site: str | None = None) -> list[dict[str, Any]]:
    """Every counter the printer names, as its latest billing read carried it (the device's own
    name and OID)."""
    where, params = _site(site, "c")
    return _rows(
        con,
        "SELECT c.site_id, c.n, d.serial, c.name, c.oid, c.value, c.time, c.cycle FROM counter_reads c "
        "LEFT JOIN devices d USING (site_id, n) "
        f"WHERE {where} AND c.seq = (SELECT max(seq) FROM counter_reads l "
        "WHERE l.site_id = c.site_id AND l.n = c.n) ORDER BY c.site_id, c.n, c.oid, c.name",
        params,
    )


def reorders(con: Connection, site: str | None = None) -> list[dict[str, Any]]:
    where, params = _site(site, "r")
    return _rows(
        con,
        "SELECT r.site_id, r.n, d.serial, d.model, r.supply_index, r.time, r.percent, r.why, r.days_to_empty "
        f"FROM reorders r LEFT JOIN devices d USING (site_id, n) WHERE {where} ORDER BY r.time DESC",
        params,
    )


def missing(
    con: Connection,
    site: str | None = None,
    now: dt.datetime | None = None,
    grace: dt.timedelta = dt.timedelta(days=1),
) -> list[dict[str, Any]]:
    """Devices whose billing read for the current cycle has not arrived ``grace`` after its start."""
    now = now or naive_utcnow()
    out: list[dict[str, Any]] = []
    for s in sites(con, site):
        if not s["enrolled_at"]:
            continue
        cycle, due = due_reads(con, s["site_id"], now, grace)
        for n in due:
            row = con.execute(
                "SELECT serial, address FROM devices WHERE site_id = ? AND n = ?", [s["site_id"], n]
            ).fetchone()
            out.append(
                {
                    "site_id": s["site_id"],
                    "contact": s["contact"],
                    "n": n,
                    "serial": row[0] if row else None,
                    "address": row[1] if row else None,
                    "cycle": cycle,
                }
            )
    return out


def view(
    con: Connection, name: str, site: str | None = None, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """One of :data:`VIEWS` by name (``now``: the collector's clock, for ``missing``)."""
    if name == "missing":
        return missing(con, site, now)
    fn = {"sites": sites, "devices": devices, "reads": reads, "counters": counters, "reorders": reorders}[
        name
    ]
    return fn(con, site)

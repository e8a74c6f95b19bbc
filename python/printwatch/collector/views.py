"""The MSP's read-only view: sites, devices, latest reads, reorder triggers, missing billing
reads, and the named counters of the latest billing reads. The same rows for the CLI
(``printwatch collector sites|devices|reads|counters|reorders|missing``)
and the JSON API (``GET /api/...``).

Error handling: the backend's errors propagate (``duckdb.Error``, ``psycopg.Error``: the CLI
prints them, the API answers 500).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from printwatch.clock import naive_utcnow
from printwatch.collector.storage import Connection
from printwatch.collector.sync import cycle_start

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


#: A page of the API's views: rows (devices, for ``reads`` and ``counters``) by default and at
#: most, and the furthest offset (beyond it: narrow by site; a deep offset costs the store every
#: row before it).
PAGE = 500
#: ... and for ``reads`` and ``counters``, devices (their meters or counters: a few rows each).
PAGE_DEVICES = 200
MAX_PAGE = 5000
MAX_OFFSET = 100_000
#: Paged by devices (their reads or counters: a few rows each), not by rows.
BY_DEVICE = ("reads", "counters")

Sites = str | Sequence[str] | None


def _site(site: Sites, table: str = "") -> tuple[str, list[Any]]:
    """``site`` (one), ``[sites]`` (a customer's: any of them) or every site (``None``)."""
    prefix = f"{table}." if table else ""
    if site is None:
        return "true", []
    if isinstance(site, str):
        return f"{prefix}site_id = ?", [site]
    if not site:
        return "false", []
    return f"{prefix}site_id IN ({', '.join('?' for _ in site)})", list(site)


def _page(limit: int | None, offset: int) -> tuple[str, list[Any]]:
    if limit is None:
        return "", []
    return " LIMIT ? OFFSET ?", [limit, offset]


def sites(
    con: Connection, site: Sites = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = _site(site)
    page, more = _page(limit, offset)
    return _rows(
        con,
        "SELECT site_id, name, contact, enrolled_at, key_id, last_seq, last_seen, billing_cycle, "
        "billing_day, "
        "(SELECT count(*) FROM devices d WHERE d.site_id = s.site_id) AS devices, "
        "token_hash IS NOT NULL AS token_open "
        f"FROM sites s WHERE {where} ORDER BY site_id{page}",
        [*params, *more],
    )


def devices(
    con: Connection, site: Sites = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = _site(site)
    page, more = _page(limit, offset)
    return _rows(
        con,
        "SELECT site_id, n, serial, vendor, model, mac, name, address, registered_at, "
        "(SELECT max(time) FROM meter_latest r WHERE r.site_id = d.site_id AND r.n = d.n) AS last_read "
        f"FROM devices d WHERE {where} ORDER BY site_id, n{page}",
        [*params, *more],
    )


def _devices_of(site: Sites, limit: int | None, offset: int) -> tuple[str, list[Any]]:
    """The page of devices (``site_id``, ``n``, ``serial``) whose reads or counters are asked."""
    where, params = _site(site)
    page, more = _page(limit, offset)
    return (
        f"(SELECT site_id, n, serial FROM devices WHERE {where} ORDER BY site_id, n{page})",
        [*params, *more],
    )


def reads(
    con: Connection, site: Sites = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The latest read of every device's meters (billing or aggregate, whichever is newer), for
    a page of ``limit`` devices from ``offset`` (all without ``limit``)."""
    page, params = _devices_of(site, limit, offset)
    return _rows(
        con,
        "SELECT r.site_id, r.n, r.serial, r.meter, r.value, r.time, r.source, r.cycle FROM ("
        "  SELECT m.*, p.serial, row_number() OVER (PARTITION BY m.site_id, m.n, m.meter "
        "    ORDER BY m.time DESC, m.seq DESC) AS k "
        f"  FROM {page} p JOIN meter_reads m ON m.site_id = p.site_id AND m.n = p.n) r "
        "WHERE k = 1 ORDER BY r.site_id, r.n, r.meter",
        params,
    )


def counters(
    con: Connection, site: Sites = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """Every counter the printer names, as its latest billing read carried it (the device's own
    name and OID), for a page of ``limit`` devices from ``offset`` (all without ``limit``)."""
    page, params = _devices_of(site, limit, offset)
    return _rows(
        con,
        "SELECT c.site_id, c.n, p.serial, c.name, c.oid, c.value, c.time, c.cycle "
        f"FROM {page} p JOIN counter_reads c ON c.site_id = p.site_id AND c.n = p.n "
        "WHERE c.seq = (SELECT max(seq) FROM counter_reads l "
        "WHERE l.site_id = c.site_id AND l.n = c.n) ORDER BY c.site_id, c.n, c.oid, c.name",
        params,
    )


def reorders(
    con: Connection, site: Sites = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The reorder triggers, newest first (``limit`` of them from ``offset``; all without)."""
    where, params = _site(site, "r")
    page, more = _page(limit, offset)
    return _rows(
        con,
        "SELECT r.site_id, r.n, d.serial, d.model, r.supply_index, r.time, r.percent, r.why, r.days_to_empty "
        f"FROM reorders r LEFT JOIN devices d USING (site_id, n) WHERE {where} "
        f"ORDER BY r.time DESC, r.site_id, r.n, r.supply_index{page}",
        [*params, *more],
    )


def count(con: Connection, name: str, site: Sites = None, *, now: dt.datetime | None = None) -> int:
    """How many rows (devices for :data:`BY_DEVICE`) ``name`` pages over (``now``: the
    collector's clock, for ``missing``)."""
    if name == "missing":
        owing = _owing(con, site, now or naive_utcnow(), MISSING_GRACE)
        if not owing:
            return 0
        body, params = _missing(owing)
        return int(con.execute(f"SELECT count(*) {body}", params).fetchall()[0][0])
    if name not in VIEWS:
        raise ValueError(f"no view {name!r}")
    table = {"sites": "sites", "reads": "devices", "counters": "devices"}.get(name, name)
    where, params = _site(site)
    return int(con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()[0][0])


#: How long after its cycle began a billing read counts as missing.
MISSING_GRACE = dt.timedelta(days=1)


def _owing(con: Connection, site: Sites, now: dt.datetime, grace: dt.timedelta) -> list[tuple[str, str]]:
    """``(site, cycle)`` of each enrolled site of ``site`` whose current cycle (by its own
    schedule, at ``now``) began ``grace`` ago or more and is not closed, by site."""
    where, params = _site(site, "s")
    closed = {
        (str(a), str(b))
        for a, b in con.execute(
            f"SELECT c.site_id, c.cycle FROM billing_closed c JOIN sites s ON s.site_id = c.site_id "
            f"WHERE {where}",
            params,
        ).fetchall()
    }
    owing = []
    for site_id, kind, day in con.execute(
        f"SELECT s.site_id, s.billing_cycle, s.billing_day FROM sites s WHERE {where} "
        "AND s.enrolled_at IS NOT NULL AND s.key_id IS NOT NULL ORDER BY s.site_id",
        params,
    ).fetchall():
        start = cycle_start(str(kind), int(day), now)
        pair = (str(site_id), start.date().isoformat())
        if now >= start + grace and pair not in closed:
            owing.append(pair)
    return owing


def _missing(owing: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The FROM and WHERE of the devices of ``owing``'s sites' current appliances with no
    billing read of the pair's cycle, and its parameters: one query over every pair. The reads
    of those cycles are gathered once and joined (a hash join on PostgreSQL: counting 10,000
    devices' missing reads took 180 ms as one probe of the reads per device, 8 to 40 ms so)."""
    pairs = ", ".join("(?, ?)" for _ in owing)
    labels = sorted({cycle for _, cycle in owing})
    return (
        f"FROM (VALUES {pairs}) AS w(site_id, cycle) JOIN sites s ON s.site_id = w.site_id "
        "JOIN device_keys k ON k.site_id = s.site_id AND k.key_id = s.key_id "
        "LEFT JOIN devices d ON d.site_id = k.site_id AND d.n = k.n "
        "LEFT JOIN (SELECT DISTINCT r.site_id, r.n, r.cycle FROM meter_reads r WHERE r.source = 'billing' "
        f"AND r.cycle IN ({', '.join('?' for _ in labels)})) got "
        "ON got.site_id = k.site_id AND got.n = k.n AND got.cycle = w.cycle WHERE got.n IS NULL",
        [*(v for pair in owing for v in pair), *labels],
    )


def missing(
    con: Connection,
    site: Sites = None,
    now: dt.datetime | None = None,
    grace: dt.timedelta = MISSING_GRACE,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Devices of each site's current appliance whose billing read for the site's current
    cycle has not arrived ``grace`` after the cycle began (none for a closed cycle), by site and
    device: ``limit`` of them from ``offset`` (all without)."""
    owing = _owing(con, site, now or naive_utcnow(), grace)
    if not owing:
        return []
    body, params = _missing(owing)
    page, more = _page(limit, offset)
    rows = con.execute(
        f"SELECT s.site_id, s.contact, k.n, d.serial, d.address, w.cycle {body} "
        f"ORDER BY s.site_id, k.n{page}",
        [*params, *more],
    ).fetchall()
    return [
        {"site_id": a, "contact": b, "n": int(n), "serial": c, "address": e, "cycle": str(f)}
        for a, b, n, c, e, f in rows
    ]


def view(
    con: Connection,
    name: str,
    site: Sites = None,
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One of :data:`VIEWS` by name (``now``: the collector's clock, for ``missing``); a page of
    ``limit`` rows (devices for :data:`BY_DEVICE`) from ``offset`` (every row without)."""
    if name == "missing":
        return missing(con, site, now, limit=limit, offset=offset)
    fn = {"sites": sites, "devices": devices, "reads": reads, "counters": counters, "reorders": reorders}[
        name
    ]
    return fn(con, site, limit, offset)

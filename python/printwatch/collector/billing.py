"""Billing per cycle: the cycles of a site, every device's read with its evidence, the missing
ones, closing a cycle, and the export an ERP imports.

A cycle is named by its label (the date of its billing day,
:func:`~printwatch.uplink.messages.cycle_label`) on the site's own schedule (monthly, quarterly
or semiannual from ``billing_day``). A device's read of a cycle is the first billing read of
that label the collector stored (ingest keeps one per device and cycle); its **evidence** is the
message that carried it (sequence number, the appliance's time, the collector's receipt time,
bytes) and the device's own named counters of that read (name, OID, value).

**Closing** a cycle freezes it: it records who closed it, when, and the site's last sequence
number at that moment. A read that arrives later for a closed cycle is **not refused** (the
appliance's stream is in order: refusing one message would hold back everything behind it, and
nothing is ever lost) but kept and shown apart as *late*: the cycle's reads, its export and its
missing list stay what they were when it closed. Reopening (:func:`reopen`) takes the late reads
in. The sync answer no longer asks an appliance for a closed cycle's reads, and the missing-read
e-mail no longer chases them.

The export (CSV and JSON) lists, for a cycle, one row per device and ERP meter name (the
mapping of :mod:`printwatch.collector.meternames`; meters without one under their own name with
``--unmapped``): ``site, serial, model, meter, value, read_at, cycle`` (docs/collector.md has
the layout). Text cells that a spreadsheet would take for a formula (starting ``=``, ``+``,
``-``, ``@``, tab or carriage return) are prefixed with ``'``: a serial number a hostile
printer reports cannot run in the ERP clerk's spreadsheet.

Error handling: :class:`BillingError` (a ``ValueError``) for a cycle that cannot be closed or
reopened, or a label that is not a cycle's; ``LookupError`` for an unknown site.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from printwatch.collector.csvtext import csv_text
from printwatch.collector.meternames import EXPORT_COLUMNS, list_names, resolver
from printwatch.collector.storage import Connection
from printwatch.collector.store import CollectorStore
from printwatch.uplink.messages import cycle_label

_LABEL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Cycles listed per site at most (newest first).
MAX_CYCLES = 120


class BillingError(ValueError):
    """A billing action refused; the message says why."""


def check_label(cycle: object) -> str:
    """``cycle`` if it is a cycle label (``YYYY-MM-DD``, a real date), else :class:`BillingError`."""
    if not isinstance(cycle, str) or not _LABEL.match(cycle):
        raise BillingError(f"{str(cycle)[:40]!r} is not a cycle label (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(cycle)
    except ValueError:
        raise BillingError(f"{cycle!r} is not a date") from None
    return cycle


def _site(con: Connection, site: str) -> tuple[str, int, int]:
    row = con.execute(
        "SELECT billing_cycle, billing_day, last_seq FROM sites WHERE site_id = ?", [site]
    ).fetchone()
    if row is None:
        raise LookupError(f"no site {site!r}")
    return str(row[0]), int(row[1]), int(row[2])


def closed_seq(con: Connection, site: str, cycle: str) -> int | None:
    """The site's last sequence number when ``cycle`` closed, or ``None`` while it is open."""
    row = con.execute(
        "SELECT closed_seq FROM billing_closed WHERE site_id = ? AND cycle = ?", [site, cycle]
    ).fetchone()
    return None if row is None else int(row[0])


def _devices(con: Connection, site: str) -> list[tuple[int, str | None, str | None]]:
    """The devices of the site's current appliance (a replaced one's stay in the history)."""
    rows = con.execute(
        "SELECT d.n, d.serial, d.model FROM device_keys k "
        "JOIN sites s ON s.site_id = k.site_id AND s.key_id = k.key_id "
        "JOIN devices d ON d.site_id = k.site_id AND d.n = k.n WHERE k.site_id = ? ORDER BY d.n",
        [site],
    ).fetchall()
    return [(int(n), serial, model) for n, serial, model in rows]


def cycles(con: Connection, site: str, now: dt.datetime) -> list[dict[str, Any]]:
    """The site's cycles, newest first: the current one (by the collector's clock ``now``) and
    every one with a read, each with its counts (devices read, missing, late) and whether and by
    whom it was closed."""
    kind, day, _ = _site(con, site)
    current = cycle_label(kind, day, now.date())
    labels = {
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT cycle FROM meter_reads WHERE site_id = ? AND source = 'billing'", [site]
        ).fetchall()
        if r[0]
    }
    closed = {
        str(c): (at, by, int(seq))
        for c, at, by, seq in con.execute(
            "SELECT cycle, closed_at, closed_by, closed_seq FROM billing_closed WHERE site_id = ?", [site]
        ).fetchall()
    }
    expected = len(_devices(con, site))
    out = []
    for label in sorted(labels | {current} | set(closed), reverse=True)[:MAX_CYCLES]:
        done = closed.get(label)
        read, late = _read_devices(con, site, label, done[2] if done else None)
        out.append(
            {
                "site": site,
                "cycle": label,
                "schedule": kind,
                "current": label == current,
                "devices": expected,
                "read": len(read),
                "missing": max(0, expected - len(read)),
                "late": len(late),
                "closed_at": done[0].isoformat() if done else None,
                "closed_by": done[1] if done else None,
            }
        )
    return out


#: Sites the billing overview lists per page (and at most), and the furthest offset.
PAGE_SITES = 200
MAX_OFFSET = 100_000


def current_cycles(
    con: Connection,
    now: dt.datetime,
    *,
    scope: tuple[str, list[Any]] = ("TRUE", []),
    limit: int = PAGE_SITES,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The current cycle of each site of ``scope`` (a SQL condition on ``site_id``), as
    :func:`cycles` counts it, for a page of ``limit`` sites from ``offset``; and how many sites
    there are. Set-based: a few queries for the page whatever its size (not one per site)."""
    where, params = scope
    total = int(con.execute(f"SELECT count(*) FROM sites WHERE {where}", params).fetchall()[0][0])
    page = con.execute(
        f"SELECT site_id, billing_cycle, billing_day FROM sites WHERE {where} "
        "ORDER BY site_id LIMIT ? OFFSET ?",
        [*params, max(0, min(limit, PAGE_SITES)), max(0, min(offset, MAX_OFFSET))],
    ).fetchall()
    if not page:
        return [], total
    ids = [str(r[0]) for r in page]
    marks = ", ".join("?" for _ in ids)
    expected = dict(
        con.execute(
            "SELECT k.site_id, count(*) FROM device_keys k "
            "JOIN sites s ON s.site_id = k.site_id AND s.key_id = k.key_id "
            "JOIN devices d ON d.site_id = k.site_id AND d.n = k.n "
            f"WHERE k.site_id IN ({marks}) GROUP BY k.site_id",
            ids,
        ).fetchall()
    )
    label = {str(site): cycle_label(str(kind), int(day), now.date()) for site, kind, day in page}
    closed = {
        (str(site), str(c)): (at, by, int(seq))
        for site, c, at, by, seq in con.execute(
            "SELECT site_id, cycle, closed_at, closed_by, closed_seq FROM billing_closed "
            f"WHERE site_id IN ({marks})",
            ids,
        ).fetchall()
        if label.get(str(site)) == str(c)
    }
    by_label: dict[str, list[str]] = {}
    for site in ids:
        if (site, label[site]) not in closed:
            by_label.setdefault(label[site], []).append(site)
    read: dict[str, int] = {}
    for cycle, sites_of in by_label.items():  # most sites share a cycle: a query or two
        found = con.execute(
            "SELECT site_id, count(DISTINCT n) FROM meter_reads WHERE source = 'billing' AND cycle = ? "
            f"AND site_id IN ({', '.join('?' for _ in sites_of)}) GROUP BY site_id",
            [cycle, *sites_of],
        ).fetchall()
        read.update({str(site): int(count) for site, count in found})
    late: dict[str, int] = {}
    for (site, cycle), shut in closed.items():  # closed current cycles: few
        got, after = _read_devices(con, site, cycle, shut[2])
        read[site], late[site] = len(got), len(after)
    out = []
    for site, kind, _ in page:
        site = str(site)
        done = closed.get((site, label[site]))
        devices = int(expected.get(site, 0))
        out.append(
            {
                "site": site, "cycle": label[site], "schedule": str(kind), "current": True,
                "devices": devices, "read": read.get(site, 0),
                "missing": max(0, devices - read.get(site, 0)), "late": late.get(site, 0),
                "closed_at": done[0].isoformat() if done else None, "closed_by": done[1] if done else None,
            }
        )  # fmt: skip
    return out, total


def _read_devices(con: Connection, site: str, cycle: str, until: int | None) -> tuple[set[int], set[int]]:
    rows = con.execute(
        "SELECT DISTINCT n, seq FROM meter_reads WHERE site_id = ? AND source = 'billing' AND cycle = ?",
        [site, cycle],
    ).fetchall()
    read = {int(n) for n, seq in rows if until is None or int(seq) <= until}
    late = {int(n) for n, seq in rows if until is not None and int(seq) > until} - read
    return read, late


def _counters(con: Connection, site: str, cycle: str) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The named counters of the cycle's reads by ``(device, sequence number)``."""
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    rows = con.execute(
        "SELECT n, name, oid, value, seq FROM counter_reads WHERE site_id = ? AND cycle = ? "
        "ORDER BY n, oid, name",
        [site, cycle],
    ).fetchall()
    for n, name, oid, value, seq in rows:
        out.setdefault((int(n), int(seq)), []).append({"name": name, "oid": oid, "value": int(value)})
    return out


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat() + "Z"


def _identities(con: Connection, site: str) -> dict[int, tuple[str | None, str | None]]:
    """Serial and model of every device the site ever registered (a replaced appliance's too)."""
    rows = con.execute("SELECT n, serial, model FROM devices WHERE site_id = ?", [site]).fetchall()
    return {int(n): (serial, model) for n, serial, model in rows}


def cycle_reads(con: Connection, site: str, cycle: str) -> dict[str, Any]:
    """Every device's read of ``cycle`` with its evidence, the devices with none (missing) and,
    for a closed cycle, the reads that came after it closed (late)."""
    check_label(cycle)
    _site(con, site)
    rows = con.execute(
        "SELECT r.n, r.meter, r.value, r.time, r.seq, m.sent_at, m.received_at, m.bytes "
        "FROM meter_reads r LEFT JOIN messages m ON m.site_id = r.site_id AND m.seq = r.seq "
        "WHERE r.site_id = ? AND r.source = 'billing' AND r.cycle = ? ORDER BY r.n, r.meter",
        [site, cycle],
    ).fetchall()
    counters = _counters(con, site, cycle)
    names = _identities(con, site)
    reads: dict[int, dict[str, Any]] = {}
    for n, meter, value, time, seq, sent_at, received_at, size in rows:
        serial, model = names.get(int(n), (None, None))
        evidence = {
            "seq": int(seq), "sent_at": _iso(sent_at), "received_at": _iso(received_at),
            "bytes": None if size is None else int(size), "counters": counters.get((int(n), int(seq)), []),
        }  # fmt: skip
        entry = reads.setdefault(
            int(n),
            {
                "n": int(n),
                "serial": serial,
                "model": model,
                "read_at": _iso(time),
                "meters": {},
                "evidence": evidence,
            },
        )
        entry["meters"][str(meter)] = int(value)
    closed = con.execute(
        "SELECT closed_at, closed_by, closed_seq FROM billing_closed WHERE site_id = ? AND cycle = ?",
        [site, cycle],
    ).fetchone()
    until = None if closed is None else int(closed[2])
    on_time = [r for r in reads.values() if until is None or r["evidence"]["seq"] <= until]
    read = {r["n"] for r in on_time}
    missing = [{"n": n, "serial": s, "model": m} for n, s, m in _devices(con, site) if n not in read]
    return {
        "site": site,
        "cycle": cycle,
        "closed": None if closed is None else {"at": _iso(closed[0]), "by": closed[1], "seq": until},
        "reads": on_time,
        "missing": missing,
        "late": [r for r in reads.values() if until is not None and r["evidence"]["seq"] > until],
    }


def close(store: CollectorStore, site: str, cycle: str, *, by: str, now: dt.datetime) -> int:
    """Close ``cycle`` of ``site`` (see the module's docstring); returns the sequence number it
    is frozen at. A cycle not begun yet (by the collector's clock) or closed already is refused."""
    check_label(cycle)
    with store.transaction() as con:
        rows = con.execute("SELECT last_seq FROM sites WHERE site_id = ?" + store.row_lock, [site]).fetchall()
        if not rows:
            raise LookupError(f"no site {site!r}")
        if dt.datetime.fromisoformat(cycle) > now:
            raise BillingError(f"cycle {cycle} has not begun")
        if closed_seq(con, site, cycle) is not None:
            raise BillingError(f"cycle {cycle} of {site} is closed already")
        seq = int(rows[0][0])
        con.execute("INSERT INTO billing_closed VALUES (?, ?, ?, ?, ?)", [site, cycle, now, by[:80], seq])
    return seq


def reopen(store: CollectorStore, site: str, cycle: str) -> None:
    """Open a closed cycle again: its late reads count from now on."""
    check_label(cycle)
    with store.transaction() as con:
        if closed_seq(con, site, cycle) is None:
            raise BillingError(f"cycle {cycle} of {site} is not closed")
        con.execute("DELETE FROM billing_closed WHERE site_id = ? AND cycle = ?", [site, cycle])


def is_closed(con: Connection, site: str, cycle: str) -> bool:
    return closed_seq(con, site, cycle) is not None


_EXPORT = """
SELECT r.site_id, r.n, d.serial, d.vendor, d.model, r.meter, r.value, r.time, r.cycle, r.seq,
  'meter' AS kind
FROM meter_reads r JOIN devices d USING (site_id, n)
WHERE r.source = 'billing' AND r.cycle = ? AND r.site_id = ?
UNION ALL
SELECT c.site_id, c.n, d.serial, d.vendor, d.model, c.name, c.value, c.time, c.cycle, c.seq, 'counter'
FROM counter_reads c JOIN devices d USING (site_id, n)
WHERE c.cycle = ? AND c.site_id = ?
ORDER BY 1, 3, 2, 11 DESC, 6
"""


def export(con: Connection, site: str, cycle: str, *, unmapped: bool = False) -> list[dict[str, Any]]:
    """The cycle's reads as the ERP imports them: the columns of
    :data:`~printwatch.collector.meternames.EXPORT_COLUMNS` (and, for JSON, the device's own
    meter name, its source and whether it is mapped, the collector's device number); a closed
    cycle without its late reads. One row per device and ERP meter: two devices reporting one
    serial (or none) are two rows, never one (a cloned or hostile printer's serial must not hide
    another device's read)."""
    check_label(cycle)
    _site(con, site)
    until = closed_seq(con, site, cycle)
    erp = resolver(list_names(con, site))
    out: dict[tuple[int, str, bool], dict[str, Any]] = {}
    for site_id, n, serial, vendor, model, meter, value, time, label, seq, kind in con.execute(
        _EXPORT, [cycle, site, cycle, site]
    ).fetchall():
        if until is not None and int(seq) > until:
            continue
        name = erp(site_id, vendor, model, meter)
        if name is None and not unmapped:
            continue
        row = {
            "site": site_id, "serial": serial or "", "model": model or "", "meter": name or meter,
            "value": int(value), "read_at": time.isoformat() + "Z", "cycle": label,
            "device_meter": meter, "source": kind, "mapped": name is not None, "n": int(n),
        }  # fmt: skip
        key = (int(n), row["meter"], name is not None)
        if key not in out or kind == "counter":  # the device's own count is what is billed
            out[key] = row
    return list(out.values())


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The export as CSV (RFC 4180, a header of the columns, ``\\r\\n`` line ends, UTF-8),
    with formula-like text cells made inert (:mod:`printwatch.collector.csvtext`)."""
    return csv_text(EXPORT_COLUMNS, rows)


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=1)

"""What the dashboard reads from the history store: the public views (``devices``,
``supply_forecast``, ``supply_history``, ``meter_history``, ``pages_per_day``, and ``alerts``
when the store has it); the fleet's pages per day are the last days of ``pages_per_day``, kept
in memory (:class:`PagesPerDay`).

Reads run in worker threads, each with its own cursor of the writer's connection
(:meth:`printwatch.store.Store.reader`; MVCC: a reader never holds up a write). The fleet is
paged, sorted and filtered by DuckDB: a page reads its rows and, for them only, their supplies;
a sort by lowest supply level computes that for the fleet first (one row per supply), a sort by
pages per day sorts the ids in memory.

Error handling: a sort key, direction or state outside the known ones falls back to the default
(a hand-typed URL never makes a query fail); an ``alerts`` view that is not (yet) in the store is
``None`` from :meth:`DashboardData.alerts`, which the page says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from printwatch.uplink.log import Entry as UplinkEntry
from printwatch.uplink.log import entries as uplink_entries
from printwatch.uplink.log import verify as uplink_verify

log = logging.getLogger(__name__)

#: A cursor of the store's connection for the duration of a ``with`` (``Store.reading``).
Reading = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

_ADDRESS_ORDER_KEY = "address_order"
SORTS = {
    "name": "name",
    "address": _ADDRESS_ORDER_KEY,
    "model": "model",
    "state": "state",
    "last_seen": "last_seen",
    "supply": "min_percent",
    "pages": "pages_per_day",
}
STATES = ("running", "warning", "testing", "down", "offline", "unknown", "gone")
PAGE_SIZES = (25, 50, 100, 200)
#: Days over which the fleet's pages per day are averaged (up to the day of the latest meter read).
PAGES_DAYS = 7

#: The columns of the alerts issue's ``alerts`` view that the pages show (``notified_at``, or
#: ``notifications`` as the brief first named it, for when it was sent).
ALERT_COLUMNS = (
    "alert_id",
    "device_id",
    "kind",
    "subject",
    "severity",
    "opened_at",
    "closed_at",
    "last_seen",
    "detail",
    "notified_at",
)


@dataclass(frozen=True)
class FleetQuery:
    sort: str = "name"
    descending: bool = False
    state: str = ""  # "" (all), one of STATES, or "problem" (anything but running)
    text: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def parse(cls, params: dict[str, str]) -> FleetQuery:
        sort = params.get("sort", "name")
        state = params.get("state", "")
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        try:
            per_page = int(params.get("per", "50"))
        except ValueError:
            per_page = 50
        return cls(
            sort=sort if sort in SORTS else "name",
            descending=params.get("dir") == "desc",
            state=state if state in (*STATES, "problem") else "",
            text=params.get("q", "").strip()[:100],
            page=min(page, 1_000_000),
            per_page=per_page if per_page in PAGE_SIZES else 50,
        )


@dataclass
class SupplyBar:
    index: int
    description: str
    color: str | None
    percent: float | None
    days_to_empty: float | None


@dataclass
class FleetRow:
    device_id: int
    name: str
    address: str | None
    vendor: str | None
    model: str | None
    serial: str | None
    state: str
    errors: list[str]
    last_seen: dt.datetime | None
    pages_per_day: float | None
    supplies: list[SupplyBar] = field(default_factory=list)


@dataclass
class FleetPage:
    query: FleetQuery
    rows: list[FleetRow]
    total: int  # rows matching the filter
    fleet: int  # every device
    states: dict[str, int]  # state -> devices in it (the whole fleet)
    pages_as_of: dt.datetime | None = None  # the meter read the pages per day go up to
    conflicts: list[str] = field(default_factory=list)  # open serial conflicts (store registry)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


# A serial conflict is open until a conflict_resolved event for the same claimant and address.
_OPEN_CONFLICTS = """
    SELECT c.detail FROM registry_events c WHERE c.kind = 'serial_conflict' AND NOT EXISTS (
        SELECT 1 FROM registry_events r WHERE r.kind = 'conflict_resolved'
        AND r.other_device_id = c.other_device_id AND r.address = c.address
    ) ORDER BY c.time
"""

_BASE = """
    SELECT device_id, coalesce(sys_name, address, identity) AS name, address, vendor, model, serial,
           state, errors, last_seen
    FROM devices
"""
# Addresses sort as numbers (10.0.0.9 before 10.0.0.10); computed only for that sort (it costs a
# third of the page's query).
_ADDRESS_ORDER = """(
    coalesce(try_cast(split_part(address, '.', 1) AS INTEGER), 0) * 16777216
    + coalesce(try_cast(split_part(address, '.', 2) AS INTEGER), 0) * 65536
    + coalesce(try_cast(split_part(address, '.', 3) AS INTEGER), 0) * 256
    + coalesce(try_cast(split_part(address, '.', 4) AS INTEGER), 0))"""
_MIN_PERCENT = "SELECT device_id, min(percent_now) AS min_percent FROM supply_forecast GROUP BY device_id"
_PAGES = "SELECT device_id, sum(pages) AS pages FROM pages_per_day WHERE day >= ? GROUP BY device_id"


class PagesPerDay:
    """The fleet's pages per day (the mean of the last PAGES_DAYS UTC days of ``pages_per_day``
    up to the store's latest meter read), computed in a thread of its own whenever the store has
    newer meter reads, and served from memory meanwhile: for 10,000 printers the view's sum takes
    about half a second (the day's live part counts the day's meter reads), more than a page may
    take, and it changes only when meters are read."""

    def __init__(self, reading: Reading) -> None:
        self._reading = reading
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._key: tuple[Any, ...] | None = None
        self.values: dict[int, float] = {}
        self.as_of: dt.datetime | None = None
        self.seconds = 0.0

    def current(self, con: duckdb.DuckDBPyConnection) -> dict[int, float]:
        """The latest values; starts a refresh when the store has newer meter reads."""
        row = con.execute("SELECT max(last_meter_at), count(*) FROM devices").fetchone()
        key = tuple(row) if row else None
        with self._lock:
            if key != self._key and key and key[0] is not None and not self.refreshing():
                self._thread = threading.Thread(
                    target=self._refresh, args=(key,), name="dashboard-pages", daemon=True
                )
                self._thread.start()
        return self.values

    def refreshing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_s: float) -> None:
        """Until the refresh in progress (if any) is done (for tests and the benchmark)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _refresh(self, key: tuple[Any, ...]) -> None:
        started = time.perf_counter()
        last_read: dt.datetime = key[0]
        first_day = last_read.date() - dt.timedelta(days=PAGES_DAYS - 1)
        try:
            with self._reading() as con:
                rows = con.execute(_PAGES, [first_day]).fetchall()
        except duckdb.Error as err:  # the store closed under it (shutdown): the next page retries
            log.info("dashboard: pages per day not computed: %s", err)
            return
        self.values = {int(d): float(p) / PAGES_DAYS for d, p in rows}
        self.as_of = last_read
        self.seconds = time.perf_counter() - started
        with self._lock:
            self._key = key


class DashboardData:
    """Reads for the pages; ``reading`` gives a cursor of the store's connection for the
    duration of a ``with`` (:meth:`printwatch.store.Store.reading`)."""

    def __init__(self, reading: Reading) -> None:
        self._reading = reading
        self._local = threading.local()
        self.pages = PagesPerDay(reading)

    def con(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor for the current call, inside :meth:`reading`.

        Error handling: ``RuntimeError`` outside :meth:`reading` (a read with no cursor).
        """
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is None:
            raise RuntimeError("a dashboard read outside DashboardData.reading()")
        return con

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """One cursor for the reads inside (a page's queries see one snapshot); taken fresh per
        page, because the store may have reopened its connection since (after a failed write,
        or its daily renewal)."""
        with self._reading() as con:
            self._local.con = con
            try:
                con.execute("BEGIN TRANSACTION")
                yield
            finally:
                self._local.con = None
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")

    # -- the fleet

    def fleet(self, q: FleetQuery) -> FleetPage:
        con = self.con()
        pages = self.pages.current(con)
        where, args = [], []
        if q.state == "problem":
            where.append("state <> 'running'")
        elif q.state:
            where.append("state = ?")
            args.append(q.state)
        if q.text:
            where.append(
                "(name ILIKE ? OR address ILIKE ? OR serial ILIKE ? OR model ILIKE ? OR vendor ILIKE ?)"
            )
            args.extend([f"%{q.text}%"] * 5)
        cond = f"WHERE {' AND '.join(where)}" if where else ""
        cols = "device_id, name, address, vendor, model, serial, state, errors, last_seen"
        offset = (q.page - 1) * q.per_page
        if q.sort == "pages":
            # sorted by the values in memory: every matching device's id, then the page's rows
            listed = con.execute(f"SELECT device_id FROM ({_BASE}) {cond} ORDER BY device_id", args)
            ids = [r[0] for r in listed.fetchall()]
            known = sorted((i for i in ids if i in pages), key=lambda i: pages[i], reverse=q.descending)
            ordered = known + [i for i in ids if i not in pages]
            chosen = ordered[offset : offset + q.per_page]
            got = con.execute(f"SELECT {cols} FROM ({_BASE}) WHERE device_id IN (SELECT unnest(?))", [chosen])
            by_id = {r[0]: r for r in got.fetchall()}
            rows = [by_id[i] for i in chosen if i in by_id]
            total = len(ids)
        else:
            key = SORTS[q.sort]
            joins = f"LEFT JOIN ({_MIN_PERCENT}) USING (device_id)" if q.sort == "supply" else ""
            extra = f", {_ADDRESS_ORDER} AS address_order" if q.sort == "address" else ""
            order = f"{key} {'DESC' if q.descending else 'ASC'} NULLS LAST, device_id"
            sql = f"SELECT {cols}{extra} FROM ({_BASE}) {joins} {cond} ORDER BY {order} LIMIT ? OFFSET ?"
            rows = con.execute(sql, [*args, q.per_page, offset]).fetchall()
            total = -1
        out = [
            FleetRow(
                device_id=r[0],
                name=r[1],
                address=r[2],
                vendor=r[3],
                model=r[4],
                serial=r[5],
                state=r[6],
                errors=list(r[7] or []),
                last_seen=r[8],
                pages_per_day=pages.get(r[0]),
            )
            for r in rows
        ]
        self._fill(con, out)
        states = dict(con.execute("SELECT state, count(*) FROM devices GROUP BY state").fetchall())
        if total < 0:  # the filter's count, from the states' counts unless there is text
            if q.text:
                total = self._count(con, cond, args)
            elif q.state == "problem":
                total = sum(n for s, n in states.items() if s != "running")
            else:
                total = states.get(q.state, 0) if q.state else sum(states.values())
        conflicts = [d for (d,) in con.execute(_OPEN_CONFLICTS).fetchall()]
        return FleetPage(
            q, out, total, sum(states.values()), states, pages_as_of=self.pages.as_of, conflicts=conflicts
        )

    def _count(self, con: duckdb.DuckDBPyConnection, cond: str, args: list[Any]) -> int:
        row = con.execute(f"SELECT count(*) FROM ({_BASE}) {cond}", args).fetchone()
        return int(row[0]) if row else 0

    def _fill(self, con: duckdb.DuckDBPyConnection, rows: list[FleetRow]) -> None:
        """Supplies of the page's rows."""
        if not rows:
            return
        by_id = {r.device_id: r for r in rows}
        for device_id, index, desc, color, percent, days in con.execute(
            "SELECT device_id, supply_index, description, color, percent_now, days_to_empty "
            "FROM supply_forecast WHERE device_id IN (SELECT unnest(?)) ORDER BY device_id, supply_index",
            [list(by_id)],
        ).fetchall():
            by_id[device_id].supplies.append(
                SupplyBar(index, desc or f"supply {index}", color, percent, days)
            )

    # -- one printer

    def device(self, device_id: int) -> dict[str, Any] | None:
        cur = self.con().execute("SELECT * FROM devices WHERE device_id = ?", [device_id])
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def forecasts(self, device_id: int) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT * FROM supply_forecast WHERE device_id = ? ORDER BY supply_index", [device_id]
        )

    def supply_history(self, device_id: int, since: dt.datetime) -> list[tuple[int, dt.datetime, float]]:
        rows = (
            self.con()
            .execute(
                "SELECT supply_index, time, percent FROM supply_history WHERE device_id = ? "
                "AND time >= ?::TIMESTAMP_S AND percent IS NOT NULL ORDER BY supply_index, time",
                [device_id, since],
            )
            .fetchall()
        )
        return [(int(i), t, float(p)) for i, t, p in rows]

    def meter_history(self, device_id: int, since: dt.datetime) -> list[tuple[str, dt.datetime, int]]:
        rows = (
            self.con()
            .execute(
                "SELECT meter, time, value FROM meter_history WHERE device_id = ? AND time >= ?::TIMESTAMP_S "
                "ORDER BY meter, time",
                [device_id, since],
            )
            .fetchall()
        )
        return [(str(m), t, int(v)) for m, t, v in rows]

    def meter_evidence(self, device_id: int, since: dt.datetime) -> list[dict[str, Any]]:
        """Each meter's last read since ``since``, with the OID and rule it came from."""
        return self._dicts(
            "SELECT meter, arg_max(value, time) AS value, max(time) AS time, arg_max(oid, time) AS oid, "
            "arg_max(rule, time) AS rule FROM meter_history WHERE device_id = ? "
            "AND time >= ?::TIMESTAMP_S GROUP BY meter ORDER BY meter",
            [device_id, since],
        )

    def pages_per_day(self, device_id: int, since: dt.datetime) -> list[tuple[dt.date, int]]:
        """The pages of each day after ``since``'s day."""
        rows = (
            self.con()
            .execute(
                "SELECT day, pages FROM pages_per_day WHERE device_id = ? AND day > ? ORDER BY day",
                [device_id, since.date()],
            )
            .fetchall()
        )
        return [(d, int(p)) for d, p in rows]

    # -- alerts (the alerts issue's view)

    def has_alerts(self) -> bool:
        row = (
            self.con()
            .execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'alerts' AND NOT internal")
            .fetchone()
        )
        return bool(row and row[0])

    def alerts(
        self, *, device_id: int | None = None, open_only: bool = False, limit: int = 500
    ) -> list[dict[str, Any]] | None:
        """Alerts newest first (open ones first), with the device's name and address; None when
        the store has no ``alerts`` view."""
        if not self.has_alerts():
            return None
        where, args = [], []
        if device_id is not None:
            where.append("a.device_id = ?")
            args.append(device_id)
        if open_only:
            where.append("a.closed_at IS NULL")
        cond = f"WHERE {' AND '.join(where)}" if where else ""
        # every column the view has (the contract's columns only ever grow), with the device's name
        return self._dicts(
            "SELECT a.*, coalesce(d.sys_name, d.address) AS device_name "
            f"FROM alerts a LEFT JOIN devices d ON d.device_id = a.device_id {cond} "
            "ORDER BY a.closed_at IS NOT NULL, a.opened_at DESC LIMIT ?",
            [*args, limit],
        )

    def uplink_log(self, *, limit: int = 200) -> tuple[list[UplinkEntry], list[str]]:
        """The newest ``limit`` transmissions to the collector, newest first, and the problems
        of the whole hash chain (empty when it is whole)."""
        con = self.con()
        last = con.execute("SELECT coalesce(max(n), 0) FROM uplink_log").fetchone()
        since = max(0, int(last[0] if last else 0) - limit)
        return list(reversed(uplink_entries(con, since_n=since))), uplink_verify(con)

    def uplink_entry(self, n: int) -> UplinkEntry | None:
        """Transmission ``n``, with its bytes."""
        got = uplink_entries(self.con(), since_n=n - 1, limit=1)
        return got[0] if got and got[0].n == n else None

    def _dicts(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        cur = self.con().execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

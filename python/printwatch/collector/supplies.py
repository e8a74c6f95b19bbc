"""The supplies desk's reorder queue across sites: new → ordered → shipped → installed.

Appliances send reorder triggers (``reorders``: a supply crossed its reorder point, or its
forecast runs out within the lead time). :func:`refresh` folds them into **orders**, one per
supply and cartridge life: a trigger for a supply whose order is not installed yet is a
duplicate of the same life (an appliance replaced, the point and the forecast both firing) and
only counts on that order (``triggers``, latest level and forecast). Each site's triggers are
folded once, in sequence order, under the site's row lock (``supply_queue_marks`` keeps how far).

**Installation is seen automatically**: when a supply level the site uploads later is
:data:`JUMP_PERCENT` points or more above the lowest level since the order opened, a new
cartridge is in: the order becomes ``installed`` at that level's time, by ``auto``. A user moves
an order forward (:func:`set_state`: new → ordered → shipped → installed, steps may be skipped,
never back); every change is recorded with who and when (``supply_order_events``).

**Days to empty** is the appliance's forecast at the latest trigger (the history store's
``supply_forecast``) less the days since, never below 0; ``None`` without a forecast.

Error handling: :class:`SupplyError` (a ``ValueError``) for a state change that is not a step
forward or a state that does not exist; ``LookupError`` for an unknown order.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from printwatch.collector.csvtext import csv_text, text_cell
from printwatch.collector.storage import Connection
from printwatch.collector.store import CollectorStore

STATES = ("new", "ordered", "shipped", "installed")
#: A level this many points above the lowest since the order opened: a new cartridge.
JUMP_PERCENT = 30
#: Orders listed at most per call (a page of the API; the CSV export streams pages of it).
MAX_ORDERS = 10_000
#: Orders a page lists by default (the console's, the API's), and the furthest offset (a deep
#: offset costs the store every row before it; filter by state or site instead).
PAGE = 200
MAX_OFFSET = 100_000
CSV_COLUMNS = (
    "site", "serial", "model", "supply", "color", "state", "opened_at", "triggers", "percent",
    "days_to_empty", "state_at", "state_by",
)  # fmt: skip


class SupplyError(ValueError):
    """A state change refused; the message says why."""


@dataclass(frozen=True)
class OrderKey:
    site: str
    n: int
    supply_index: int
    opened_seq: int

    def params(self) -> list[Any]:
        return [self.site, self.n, self.supply_index, self.opened_seq]


_KEY = "site_id = ? AND n = ? AND supply_index = ? AND opened_seq = ?"


def _event(con: Connection, key: OrderKey, state: str, at: dt.datetime, by: str, note: str | None) -> None:
    con.execute(
        "INSERT INTO supply_order_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [*key.params(), state, at, by, note],
    )


_ORDER_COLUMNS = [
    "site_id", "n", "supply_index", "opened_seq", "opened_at", "last_seq", "last_at", "triggers",
    "percent", "why", "days_to_empty", "state", "state_at", "state_by",
]  # fmt: skip
_EVENT_COLUMNS = ["site_id", "n", "supply_index", "opened_seq", "state", "event_at", "by_user", "note"]
_ORDER_KEY = ["site_id", "n", "supply_index", "opened_seq"]
#: A fold's changes to orders already stored: only what the triggers carry (a user may move
#: the same order meanwhile; its state is never written here).
_FOLDED = (
    "triggers = supply_orders.triggers + v.triggers, last_seq = v.last_seq, last_at = v.last_at, "
    "percent = v.percent, days_to_empty = v.days_to_empty, why = v.why"
)


class _Trigger(NamedTuple):
    """What a fold keeps of a reorder trigger: the latest of an order's is written on it."""

    seq: int
    time: dt.datetime
    percent: float | None
    why: str
    days_to_empty: float | None


@dataclass
class _Order:
    """An order as a fold sees it: stored, or opened by this fold (``opened``: its first trigger)."""

    seq: int
    installed_at: dt.datetime | None  # None: not installed
    opened: _Trigger | None = None
    count: int = 0  # the triggers folded into it by this fold
    last: _Trigger | None = None  # the latest of them


def _fold(orders: dict[tuple[int, int], list[_Order]], row: tuple[Any, ...]) -> bool:
    """One trigger into its supply's open order (``False``): the latest opened that is not
    installed, or installed at or after the trigger (the trigger was of that life); else into a
    new order, new at the trigger's time (``True``)."""
    _site, n, index, time, percent, why, dte, seq = row
    trigger = _Trigger(int(seq), time, percent, why, dte)
    lives = orders.setdefault((int(n), int(index)), [])  # latest opened first
    order = next((o for o in lives if o.installed_at is None or o.installed_at >= time), None)
    if order is None:
        order = _Order(trigger.seq, None, opened=trigger)
        lives.insert(0, order)
    order.count += 1
    order.last = trigger
    return order.opened is trigger


def _fold_site(store: CollectorStore, site: str) -> tuple[int, int]:
    """The site's triggers not folded yet into its orders: read at once, folded in sequence
    order in memory, written in three statements (new orders, their events, the orders they
    add to), under the site's row lock."""
    with store.transaction() as con:
        con.execute("SELECT site_id FROM sites WHERE site_id = ?" + store.row_lock, [site]).fetchall()
        mark_rows = con.execute("SELECT seq FROM supply_queue_marks WHERE site_id = ?", [site]).fetchall()
        mark = int(mark_rows[0][0]) if mark_rows else 0
        triggers = con.execute(
            "SELECT site_id, n, supply_index, time, percent, why, days_to_empty, seq FROM reorders "
            "WHERE site_id = ? AND seq > ? ORDER BY seq, n, supply_index",
            [site, mark],
        ).fetchall()
        if not triggers:
            return 0, 0
        orders: dict[tuple[int, int], list[_Order]] = {}
        for n, index, seq, state, state_at in con.execute(
            "SELECT n, supply_index, opened_seq, state, state_at FROM supply_orders "
            "WHERE site_id = ? AND (state <> 'installed' OR state_at >= ?) ORDER BY opened_seq DESC",
            [site, min(t[3] for t in triggers)],
        ).fetchall():
            installed_at = state_at if state == "installed" else None
            orders.setdefault((int(n), int(index)), []).append(_Order(int(seq), installed_at))
        opened = sum(_fold(orders, tuple(t)) for t in triggers)
        new, events, added = [], [], []
        for (n, index), lives in orders.items():
            for o in lives:
                last, first = o.last, o.opened
                if last is None:  # no trigger of this fold
                    continue
                if first is None:
                    added.append((site, n, index, o.seq, o.count, last.seq, last.time, last.percent, last.why,
                                  last.days_to_empty))  # fmt: skip
                    continue
                new.append((site, n, index, o.seq, first.time, last.seq, last.time, o.count, last.percent,
                            last.why, last.days_to_empty, "new", first.time, "appliance"))  # fmt: skip
                events.append((site, n, index, o.seq, "new", first.time, "appliance", str(first.why)))
        store.bulk(con, "supply_orders", _ORDER_COLUMNS, new)
        store.bulk(con, "supply_order_events", _EVENT_COLUMNS, events)
        store.update(
            con,
            "supply_orders",
            _ORDER_KEY,
            [*_ORDER_KEY, "triggers", "last_seq", "last_at", "percent", "why", "days_to_empty"],
            added,
            _FOLDED,
        )
        top = max(int(t[7]) for t in triggers)
        if mark_rows:
            con.execute("UPDATE supply_queue_marks SET seq = ? WHERE site_id = ?", [top, site])
        else:
            con.execute("INSERT INTO supply_queue_marks VALUES (?, ?)", [site, top])
    return opened, len(triggers) - opened


#: The same levels on DuckDB: a join of the open orders and the site's levels, which DuckDB
#: hashes (1.6 ms for 100 orders among 40 sites' levels, where the lookup below scans every
#: site's levels: 17 ms); it has no statistics to plan it wrong by.
_LEVELS = (
    "FROM supply_orders o JOIN supply_levels l ON l.site_id = o.site_id AND l.n = o.n "
    "AND l.supply_index = o.supply_index AND l.time > o.opened_at "
    "WHERE o.site_id = ? AND l.site_id = ? AND o.state <> 'installed' AND l.percent BETWEEN 0 AND 100 "
)
#: An order's levels before the refresh's mark, looked up order by order (the chunk of orders
#: a statement names: it stays a short statement at any queue size).
_LOOKUP_CHUNK = 500
#: Each order of ``v`` (site, n, index, opened_seq, opened_at) looks its supply's levels up on
#: the supply's index (site, n, index, time). ``OFFSET 0`` keeps the subquery whole: PostgreSQL
#: cannot fold it into a join it would plan on its statistics of the levels; the only plan is a
#: loop over the orders, each an index scan. The site comes as a column of ``v``, not as a
#: constant: against a constant the planner looks the site up in its statistics, and a site
#: that sent its levels since the last ``ANALYZE`` (every site, on a busy day) is estimated at
#: one row, which makes the smaller index of (site, seq) as good, and that one reads every level
#: of the site for each order. Against a column every site is the average one, and the index
#: on the whole supply's key is the only cheap one (EXPLAIN: docs/benchmarks.md).
_LOOKUP = (
    "SELECT v.n, v.i, v.s, l.time, l.percent, l.seq FROM (VALUES {values}) AS v(site, n, i, s, t) "
    "CROSS JOIN LATERAL (SELECT x.time, x.percent, x.seq FROM supply_levels x WHERE x.site_id = v.site "
    "AND x.n = v.n AND x.supply_index = v.i AND x.time > v.t AND x.percent BETWEEN 0 AND 100 "
    "OFFSET 0) AS l"
)
#: An order's kept lowest level only ever goes down, whichever front end writes it last.
_LOWER = (
    "lowest = CASE WHEN supply_orders.lowest IS NULL OR v.lowest < supply_orders.lowest "
    "THEN v.lowest ELSE supply_orders.lowest END"
)


def _levels_to_see(
    con: Connection, site: str, since: int, dialect: str = "postgres"
) -> tuple[list[tuple[Any, ...]], dict[OrderKey, float]]:
    """What :func:`_installations` looks at: the levels to check, as (n, index, opened_seq,
    percent at the trigger, kept lowest, time, level) by order and time, and the lowest level
    of each order opened up to ``since`` (the site's mark at its last refresh) that keeps none
    (opened before migration 12, or no level seen yet). The levels to check are those received
    since ``since`` for every open order, and every level of the orders opened since."""
    # The open orders, then the levels received since, joined here; then the older levels of the
    # orders that need them, each order's looked up on its supply's index (_LOOKUP). No
    # statement is a join PostgreSQL plans on its statistics of the levels: planned on statistics
    # older than the month's partition, the join read every level of the site for each order
    # (50 ms a refresh instead of 1; bench/collector_ingest.py, docs/benchmarks.md).
    orders: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    reread = False
    for o in con.execute(
        "SELECT n, supply_index, opened_seq, percent, lowest, opened_at FROM supply_orders "
        "WHERE site_id = ? AND state <> 'installed'",
        [site],
    ).fetchall():
        orders.setdefault((int(o[0]), int(o[1])), []).append(o)
        reread = reread or int(o[2]) > since or o[4] is None
    if not orders:
        return [], {}
    rows: list[tuple[Any, ...]] = [
        (o[0], o[1], o[2], o[3], o[4], time, level)
        for n, index, time, level in con.execute(
            "SELECT n, supply_index, time, percent FROM supply_levels WHERE site_id = ? AND seq > ? "
            "AND percent BETWEEN 0 AND 100",
            [site, since],
        ).fetchall()
        for o in orders.get((int(n), int(index)), ())
        if time > o[5]
    ]
    before: dict[OrderKey, float] = {}
    if not reread:  # no order opened since, none without a kept lowest: the lookup finds nothing
        return _sorted(rows), before
    for row in _older_levels(con, site, since, dialect, orders):
        if int(row[2]) > since:
            rows.append(row)
        else:
            key = OrderKey(site, int(row[0]), int(row[1]), int(row[2]))
            before[key] = min(before.get(key, float(row[6])), float(row[6]))
    return _sorted(rows), before


def _older_levels(
    con: Connection, site: str, since: int, dialect: str, orders: dict[tuple[int, int], list[tuple[Any, ...]]]
) -> list[tuple[Any, ...]]:
    """The levels received up to ``since`` of the open ``orders`` opened since or keeping no
    lowest, after each opened: (n, index, opened_seq, percent at the trigger, kept lowest, time,
    level). PostgreSQL: :data:`_LOOKUP`, a chunk of orders a statement; DuckDB: :data:`_LEVELS`."""
    if dialect == "duckdb":
        columns = "SELECT o.n, o.supply_index, o.opened_seq, o.percent, o.lowest, l.time, l.percent "
        joined: list[tuple[Any, ...]] = con.execute(
            columns + _LEVELS + "AND l.seq <= ? AND (o.opened_seq > ? OR o.lowest IS NULL)",
            [site, site, since, since],
        ).fetchall()
        return joined
    wanted = [o for kept in orders.values() for o in kept if int(o[2]) > since or o[4] is None]
    found = {(int(o[0]), int(o[1]), int(o[2])): o for o in wanted}
    out: list[tuple[Any, ...]] = []
    for at in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[at : at + _LOOKUP_CHUNK]
        sql = _LOOKUP.format(values=", ".join(["(?, ?, ?, ?, CAST(? AS TIMESTAMP))"] * len(chunk)))
        params = [v for o in chunk for v in (site, int(o[0]), int(o[1]), int(o[2]), o[5])]
        for n, index, seq, time, level, level_seq in con.execute(sql, params).fetchall():
            if int(level_seq) <= since:  # those received since are the caller's already
                o = found[int(n), int(index), int(seq)]
                out.append((o[0], o[1], o[2], o[3], o[4], time, level))
    return out


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The levels by order, then time."""
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[5]))
    return rows


def _installations(store: CollectorStore, site: str, since: int = 0) -> int:
    """The site's orders whose supply's level jumped since they opened: installed, by ``auto``.
    Each open order keeps the lowest level seen so far (``lowest``), so a refresh reads only the
    levels received since the last one (:func:`_levels_to_see`; before, every level since each
    order opened, at every refresh: a cost that grew with the queue's age, most of PostgreSQL's
    time per site at 10,000 sites). The orders are written in one statement, which skips any
    another front end (or a user) installed meanwhile; the others' lowest, in one more."""
    with store.transaction() as con:
        # lowest: of each order not installed
        rows, lowest = _levels_to_see(con, site, since, store.dialect)
        jumps: dict[OrderKey, tuple[dt.datetime, str]] = {}
        stored: dict[OrderKey, float] = {}  # the lowest each order kept, where it keeps one
        for n, index, seq, at_trigger, kept, time, level in rows:
            key = OrderKey(site, int(n), int(index), int(seq))
            if kept is not None:
                stored[key] = float(kept)
            if key in jumps:
                continue
            seen = lowest.get(key, None if kept is None or int(seq) > since else float(kept))
            start = 101.0 if at_trigger is None else float(at_trigger)
            low = start if seen is None else min(start, seen)
            if level >= low + JUMP_PERCENT:
                jumps[key] = (time, f"level {low:g}% -> {level}% at {time.isoformat()}Z")
                lowest.pop(key, None)
            else:
                lowest[key] = float(level) if seen is None else min(seen, float(level))
        done = store.update(
            con, "supply_orders", _ORDER_KEY, [*_ORDER_KEY, "state_at"],
            [(*key.params(), time) for key, (time, _) in jumps.items()],
            "state = 'installed', state_at = v.state_at, state_by = 'auto'",
            "AND supply_orders.state <> 'installed'",
        )  # fmt: skip
        installed = [OrderKey(str(k[0]), int(k[1]), int(k[2]), int(k[3])) for k in done]
        store.bulk(con, "supply_order_events", _EVENT_COLUMNS, [
            (*key.params(), "installed", jumps[key][0], "auto", jumps[key][1]) for key in installed
        ])  # fmt: skip
        # Only the orders whose lowest went down: _LOWER leaves the others as they are, and
        # every row it matched was a new row version all the same (a third of a refresh's time).
        store.update(
            con, "supply_orders", _ORDER_KEY, [*_ORDER_KEY, "lowest"],
            [(*key.params(), low) for key, low in lowest.items() if low < stored.get(key, 1e300)], _LOWER,
        )  # fmt: skip
    return len(installed)


def refresh(store: CollectorStore, site: str | None = None) -> dict[str, int]:
    """Fold the triggers not folded yet and see installations (see the module's docstring), for
    the sites (or ``site``) that sent messages since their last refresh
    (``supply_refresh_marks``: a site's ``last_seq`` when it was last refreshed): ``{"opened",
    "duplicates", "installed", "sites"}``. Run where the data changes (after an upload is
    stored, and periodically by ``collector serve``), never by a reader: readers only read."""
    pending = store.con.execute(
        "SELECT s.site_id, s.last_seq, coalesce(m.seq, 0) FROM sites s "
        "LEFT JOIN supply_refresh_marks m ON m.site_id = s.site_id "
        "WHERE s.last_seq > coalesce(m.seq, 0) AND (? IS NULL OR s.site_id = ?) ORDER BY s.site_id",
        [site, site],
    ).fetchall()
    opened = duplicates = installed = 0
    for site_id, last_seq, since in pending:
        new, folded = _fold_site(store, str(site_id))
        opened, duplicates = opened + new, duplicates + folded
        installed += _installations(store, str(site_id), int(since))
        with store.transaction() as con:  # another front end may have marked it further
            con.execute(
                "INSERT INTO supply_refresh_marks VALUES (?, ?) ON CONFLICT (site_id) "
                "DO UPDATE SET seq = greatest(supply_refresh_marks.seq, excluded.seq)",
                [str(site_id), int(last_seq)],
            )
    return {"opened": opened, "duplicates": duplicates, "installed": installed, "sites": len(pending)}


@functools.lru_cache(maxsize=4096)
def _layout(text: str) -> dict[int, tuple[str | None, str | None]]:
    """A device's registered supply layout (its JSON text) as ``{index: (description, colour)}``:
    parsed once per distinct layout (a fleet's models share a few), not once per order."""
    try:
        rows = json.loads(text)
    except ValueError:
        return {}
    out: dict[int, tuple[str | None, str | None]] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, list) and row and isinstance(row[0], int) and row[0] not in out:
            color = row[2] if len(row) > 2 else None
            description = row[3] if len(row) > 3 else row[1] if len(row) > 1 else None
            out[row[0]] = (_text(description), _text(color))
    return out


def _supply(layout: object, index: int) -> tuple[str | None, str | None]:
    """The description and colour of supply ``index`` in a device's registered layout."""
    if not isinstance(layout, str):
        layout = json.dumps(layout)
    return _layout(layout).get(index, (None, None))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat() + "Z"


#: An order's place in the queue's order (the key an export's next page starts after).
QueueKey = tuple[dt.datetime, str, int, int, int]


def _orders(
    con: Connection,
    *,
    scope: tuple[str, list[str]],
    states: tuple[str, ...],
    site: str | None,
    limit: int,
    offset: int,
    after: QueueKey | None,
    why: bool = True,
) -> list[tuple[Any, ...]]:
    """The rows of :func:`queue` and :func:`csv_page` as the store gives them (``why`` last,
    when asked: the export has no column for it, and every value fetched costs)."""
    where, params = scope
    wanted = [s for s in states if s in STATES] or ["none"]
    since = "" if after is None else (
        " AND (o.opened_at, o.site_id, o.n, o.supply_index, o.opened_seq) > (?, ?, ?, ?, ?)"
    )  # fmt: skip
    rows: list[tuple[Any, ...]] = con.execute(
        "SELECT o.site_id, o.n, o.supply_index, o.opened_seq, o.opened_at, o.last_at, o.triggers, o.percent, "
        f"o.days_to_empty, o.state, o.state_at, o.state_by, d.serial, d.model, d.supplies{', o.why' * why} "
        "FROM supply_orders o LEFT JOIN devices d ON d.site_id = o.site_id AND d.n = o.n "
        f"WHERE ({where}) AND o.state IN ({', '.join('?' for _ in wanted)}) AND (? IS NULL OR o.site_id = ?)"
        f"{since} ORDER BY o.opened_at, o.site_id, o.n, o.supply_index, o.opened_seq LIMIT ? OFFSET ?",
        [*params, *wanted, site, site, *(after or ()), max(0, min(limit, MAX_ORDERS)),
         max(0, min(offset, MAX_OFFSET))],
    ).fetchall()  # fmt: skip
    return rows


def _left(dte: float | None, last_at: dt.datetime, now: dt.datetime) -> float | None:
    """Days to empty as of ``now``: the forecast at the latest trigger less the days since."""
    if dte is None:
        return None
    return round(max(0.0, float(dte) - (now - last_at).total_seconds() / 86400), 1)


def queue(
    con: Connection,
    now: dt.datetime,
    *,
    scope: tuple[str, list[str]] = ("TRUE", []),
    states: tuple[str, ...] = STATES,
    site: str | None = None,
    limit: int = MAX_ORDERS,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The orders across the sites of ``scope`` (a SQL condition on ``o.site_id`` and its
    parameters), in ``states``, oldest first, with days to empty as of ``now``: ``limit`` of
    them (:data:`MAX_ORDERS` at most) from ``offset``."""
    rows = _orders(con, scope=scope, states=states, site=site, limit=limit, offset=offset, after=None)
    out = []
    for (
        site_id, n, index, seq, opened_at, last_at, triggers, percent, dte, state, state_at, by,
        serial, model, layout, why,
    ) in rows:  # fmt: skip
        description, color = _supply(layout, int(index))
        out.append(
            {  # the times are NOT NULL columns
                "site": site_id, "n": int(n), "supply_index": int(index), "opened_seq": int(seq),
                "serial": serial, "model": model, "supply": description, "color": color,
                "state": state, "opened_at": opened_at.isoformat() + "Z",
                "last_trigger_at": last_at.isoformat() + "Z", "triggers": int(triggers),
                "percent": percent, "why": why, "days_to_empty": _left(dte, last_at, now),
                "state_at": state_at.isoformat() + "Z", "state_by": by,
            }
        )  # fmt: skip
    return out


def csv_page(
    con: Connection,
    now: dt.datetime,
    *,
    scope: tuple[str, list[str]] = ("TRUE", []),
    states: tuple[str, ...] = STATES,
    site: str | None = None,
    limit: int = MAX_ORDERS,
    after: QueueKey | None = None,
    header: bool = True,
) -> tuple[str, int, QueueKey | None]:
    """A page of the queue as CSV (:data:`CSV_COLUMNS`, the header with ``header``): ``limit``
    orders after the order whose key is ``after`` (from the first without), read from the index
    on the queue's order instead of counting past every order before them; the CSV, how many
    orders it holds and the last one's key (the next page's ``after``). The same orders and
    cells as :func:`queue` and :func:`to_csv`, without the dictionaries between (an export has
    10,000 orders). :func:`csv_rows` then :func:`csv_lines`."""
    rows, key = csv_rows(con, scope=scope, states=states, site=site, limit=limit, after=after)
    return csv_lines(rows, now, header=header), len(rows), key


def csv_rows(
    con: Connection,
    *,
    scope: tuple[str, list[str]] = ("TRUE", []),
    states: tuple[str, ...] = STATES,
    site: str | None = None,
    limit: int = MAX_ORDERS,
    after: QueueKey | None = None,
) -> tuple[list[tuple[Any, ...]], QueueKey | None]:
    """The store's rows of :func:`csv_page`'s page and the last one's key: the store's part,
    which an export runs on the store's thread while :func:`csv_lines` writes the page before
    (on another: the database makes the next page meanwhile)."""
    rows = _orders(con, scope=scope, states=states, site=site, limit=limit, offset=0, after=after, why=False)
    last = rows[-1] if rows else None
    key = None if last is None else (last[4], str(last[0]), int(last[1]), int(last[2]), int(last[3]))
    return rows, key


def csv_lines(rows: list[tuple[Any, ...]], now: dt.datetime, header: bool = False) -> str:
    """:func:`csv_rows`' rows as CSV lines, days to empty as of ``now`` (the header first with
    ``header``); touches no store."""
    # Each line written here, as csv's writer would write the cells (tests/collector/
    # test_console_csv_export.py checks it): the text cells defused and quoted by text_cell; what
    # repeats (a device's site, serial and model, a layout's supply, a time, who) made once a
    # page; the state is one of STATES, the rest numbers or empty.
    lines = [",".join(CSV_COLUMNS) + "\r\n"] if header else []
    devices: dict[tuple[Any, Any], str] = {}
    kinds: dict[tuple[str | None, int], str] = {}
    times: dict[dt.datetime, str] = {}
    who: dict[str, str] = {}
    for (
        site_id, n, index, _, opened_at, last_at, triggers, percent, dte, state, state_at, by,
        serial, model, layout,
    ) in rows:  # fmt: skip
        device = devices.get((site_id, n))
        if device is None:
            device = devices[site_id, n] = f"{text_cell(site_id)},{text_cell(serial)},{text_cell(model)},"
        shape = layout if layout is None or layout.__class__ is str else json.dumps(layout)
        kind = kinds.get((shape, index))
        if kind is None:
            description, color = _supply(shape, int(index))
            kind = kinds[shape, index] = f"{text_cell(description)},{text_cell(color)},"
        opened = times.get(opened_at)
        if opened is None:
            opened = times[opened_at] = opened_at.isoformat() + "Z"
        moved = times.get(state_at)
        if moved is None:
            moved = times[state_at] = state_at.isoformat() + "Z"
        by_cell = who.get(by)
        if by_cell is None:
            by_cell = who[by] = text_cell(by)
        level = "" if percent is None else percent
        left = "" if dte is None else _left(dte, last_at, now)
        lines.append(f"{device}{kind}{state},{opened},{int(triggers)},{level},{left},{moved},{by_cell}\r\n")
    return "".join(lines)


def count(
    con: Connection,
    *,
    scope: tuple[str, list[str]] = ("TRUE", []),
    states: tuple[str, ...] = STATES,
    site: str | None = None,
) -> int:
    """How many orders :func:`queue` pages over (the same conditions)."""
    where, params = scope
    wanted = [s for s in states if s in STATES] or ["none"]
    return int(
        con.execute(
            f"SELECT count(*) FROM supply_orders o WHERE ({where}) "
            f"AND o.state IN ({', '.join('?' for _ in wanted)}) AND (? IS NULL OR o.site_id = ?)",
            [*params, *wanted, site, site],
        ).fetchall()[0][0]
    )


def set_state(
    store: CollectorStore, key: OrderKey, state: str, *, by: str, now: dt.datetime, note: str | None = None
) -> None:
    """Move an order forward to ``state`` (see the module's docstring), recorded with ``by``."""
    if state not in STATES:
        raise SupplyError(f"{str(state)[:40]!r} is not a state (one of {', '.join(STATES)})")
    with store.transaction() as con:
        rows = con.execute(
            f"SELECT state FROM supply_orders WHERE {_KEY}" + store.row_lock, key.params()
        ).fetchall()
        if not rows:
            raise LookupError(f"no order {key.site}/{key.n}/{key.supply_index}/{key.opened_seq}")
        have = str(rows[0][0])
        if STATES.index(state) <= STATES.index(have):
            raise SupplyError(f"the order is {have}: it can only move forward ({' -> '.join(STATES)})")
        con.execute(
            f"UPDATE supply_orders SET state = ?, state_at = ?, state_by = ? WHERE {_KEY}",
            [state, now, by[:80], *key.params()],
        )
        _event(con, key, state, now, by[:80], None if note is None else note[:500])


def events(con: Connection, key: OrderKey) -> list[dict[str, Any]]:
    """An order's state changes, oldest first: who, when, and a note."""
    rows = con.execute(
        f"SELECT state, event_at, by_user, note FROM supply_order_events WHERE {_KEY} "
        "ORDER BY event_at, state",
        key.params(),
    ).fetchall()
    return [{"state": s, "at": _iso(at), "by": by, "note": note} for s, at, by, note in rows]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The queue as CSV (a header of :data:`CSV_COLUMNS`, ``\r\n`` line ends, formula-like text
    made inert)."""
    return csv_text(CSV_COLUMNS, rows)

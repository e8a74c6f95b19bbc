"""The same history in SQLite — the obvious alternative a user would pick — for the store bench.

Same rows, same tables and columns, the same views and the same ingestion rules (the store's own
:class:`printwatch.store.ingest.Ingestor` decides what a cycle keeps); laid out the SQLite way:
times as Unix seconds, each history table a ``WITHOUT ROWID`` B-tree keyed by (series, time),
so a series is stored together, the latest-state tables keyed by their series, one transaction
per cycle with ``executemany`` (SQLite's bulk path).
"""

from __future__ import annotations

import calendar
import json
import sqlite3
import time as _time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from printwatch.store.ingest import Ingestor, Settings
from printwatch.store.registry import Registry

sqlite3.register_adapter(datetime, lambda d: calendar.timegm(d.timetuple()))
sqlite3.register_adapter(list, json.dumps)
sqlite3.register_converter("EPOCH", lambda b: datetime.utcfromtimestamp(int(b)))
sqlite3.register_converter("JSONLIST", json.loads)

SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO settings VALUES ('poll_interval_s', '300'), ('max_pages_per_minute', '300');
-- pages_rolled_until: set from the DuckDB store when it is copied
CREATE TABLE device_registry (
    device_id INTEGER PRIMARY KEY, identity TEXT, identity_kind TEXT, serial TEXT, mac TEXT, vendor TEXT,
    model TEXT, sys_name TEXT, address TEXT, site TEXT, first_seen EPOCH, last_seen EPOCH, gone_at EPOCH,
    gone_reason TEXT, manual INTEGER);
CREATE TABLE device_addresses (device_id INTEGER, address TEXT, first_seen EPOCH, last_seen EPOCH,
    released_at EPOCH, PRIMARY KEY (device_id, address)) WITHOUT ROWID;
CREATE TABLE registry_events (time EPOCH, kind TEXT, device_id INTEGER, other_device_id INTEGER, address TEXT,
    detail TEXT);
CREATE TABLE manual_targets (address TEXT, name TEXT, added_at EPOCH);
CREATE TABLE exclusions (network TEXT, reason TEXT, added_at EPOCH);
CREATE TABLE device_state (device_id INTEGER PRIMARY KEY, target TEXT, last_poll_at EPOCH, last_ok_at EPOCH,
    last_meter_at EPOCH, reachable INTEGER, error TEXT, version TEXT, rtt_ms REAL, uptime_s INTEGER,
    status_device TEXT, status_printer TEXT, errors JSONLIST, consecutive_misses INTEGER, trays TEXT,
        alerts TEXT,
    warnings TEXT);
CREATE TABLE status_changes (device_id INTEGER, time EPOCH, reachable INTEGER, error TEXT, status_device TEXT,
    status_printer TEXT, errors JSONLIST, PRIMARY KEY (device_id, time)) WITHOUT ROWID;
CREATE TABLE supplies (supply_id INTEGER PRIMARY KEY, device_id INTEGER, supply_index INTEGER,
    description TEXT,
    type TEXT, class TEXT, color TEXT, unit TEXT, coarse INTEGER);
CREATE INDEX supplies_device ON supplies (device_id);
CREATE TABLE supply_levels (supply_id INTEGER, time EPOCH, level INTEGER, max_capacity INTEGER, percent REAL,
    state TEXT, PRIMARY KEY (supply_id, time)) WITHOUT ROWID;
CREATE TABLE supply_latest (supply_id INTEGER PRIMARY KEY, time EPOCH, level INTEGER, max_capacity INTEGER,
    percent REAL, state TEXT, cycle_start EPOCH, fit_n INTEGER, fit_t_last_d REAL, fit_st REAL, fit_sp REAL,
    fit_stt REAL, fit_stp REAL);
CREATE TABLE supply_events (supply_id INTEGER, time EPOCH, kind TEXT, percent_before REAL,
    percent_after REAL);
CREATE TABLE meter_sources (source_id INTEGER PRIMARY KEY, device_id INTEGER, meter TEXT, oid TEXT,
    rule TEXT);
CREATE INDEX meter_sources_device ON meter_sources (device_id);
CREATE TABLE counter_sources (source_id INTEGER PRIMARY KEY, device_id INTEGER, name TEXT, oid TEXT,
    source TEXT, unit TEXT);
CREATE TABLE meter_reads (source_id INTEGER, time EPOCH, value INTEGER, raw INTEGER,
    PRIMARY KEY (source_id, time)) WITHOUT ROWID;
CREATE TABLE meter_latest (device_id INTEGER, meter TEXT, source_id INTEGER, time EPOCH, value INTEGER,
    raw INTEGER, kept_time EPOCH, PRIMARY KEY (device_id, meter)) WITHOUT ROWID;
CREATE TABLE meter_events (device_id INTEGER, meter TEXT, time EPOCH, kind TEXT, value_before INTEGER,
    value_after INTEGER, time_before EPOCH);

CREATE VIEW supply_history AS
    SELECT s.device_id, s.supply_id, s.supply_index, s.description, s.type, s.class, s.color, s.unit,
           l.time, l.level, l.max_capacity, l.percent, l.state
    FROM supplies s JOIN supply_levels l USING (supply_id);
CREATE VIEW meter_history AS
    SELECT m.device_id, m.meter, r.time, r.value, m.oid, coalesce(r.raw, r.value) AS raw, m.rule
    FROM meter_sources m JOIN meter_reads r USING (source_id);
CREATE TABLE pages_daily (device_id INTEGER, day TEXT, pages INTEGER, discarded_steps INTEGER,
    PRIMARY KEY (device_id, day)) WITHOUT ROWID;
CREATE TABLE pages_frontier (device_id INTEGER, meter TEXT, time EPOCH, value INTEGER,
    PRIMARY KEY (device_id, meter)) WITHOUT ROWID;
CREATE VIEW pages_sources AS
    SELECT s.source_id, s.device_id, s.meter FROM meter_sources s
    WHERE s.meter = 'total' OR (s.meter IN ('black', 'color') AND NOT EXISTS (
        SELECT 1 FROM meter_sources t WHERE t.device_id = s.device_id AND t.meter = 'total'));
CREATE VIEW pages_steps_live AS
    WITH chosen AS (
        SELECT p.device_id, p.meter, r.time, r.value FROM meter_reads r JOIN pages_sources p USING (source_id)
        WHERE r.time >= (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'pages_rolled_until')
        UNION ALL SELECT device_id, meter, time, value FROM pages_frontier
    ), steps AS (
        SELECT device_id, meter, time, value - lag(value) OVER w AS delta,
               (time - lag(time) OVER w) / 60.0 AS minutes
        FROM chosen WINDOW w AS (PARTITION BY device_id, meter ORDER BY time)
    )
    SELECT device_id, meter, time, delta, minutes,
           delta >= 0 AND delta <= (SELECT CAST(value AS REAL) FROM settings
                                    WHERE key = 'max_pages_per_minute') * max(minutes, 1) AS valid
    FROM steps WHERE delta IS NOT NULL;
CREATE VIEW pages_per_day AS
    SELECT device_id, day, pages, discarded_steps FROM pages_daily
    UNION ALL
    SELECT device_id, date(time, 'unixepoch') AS day, sum(CASE WHEN valid THEN delta ELSE 0 END) AS pages,
           sum(NOT valid) AS discarded_steps
    FROM pages_steps_live GROUP BY device_id, day;
CREATE VIEW supply_forecast AS
    WITH fit AS (
        SELECT l.*, s.device_id, s.supply_index, s.description, s.type, s.color,
               (fit_n * fit_stt - fit_st * fit_st) AS den
        FROM supply_latest l JOIN supplies s USING (supply_id)
    ), slope AS (
        SELECT *, CASE WHEN fit_n >= 3 AND fit_t_last_d >= 1 AND den > 0
                       THEN (fit_n * fit_stp - fit_st * fit_sp) / den END AS per_day
        FROM fit
    )
    SELECT device_id, supply_id, supply_index, description, type, color, percent AS percent_now,
           time AS as_of, cycle_start AS since_replacement, fit_n AS points,
           CASE WHEN per_day < 0 THEN -per_day END AS burn_percent_per_day,
           CASE WHEN per_day < 0 AND percent IS NOT NULL THEN percent / -per_day END AS days_to_empty,
           CASE WHEN per_day < 0 AND percent IS NOT NULL THEN time + CAST(percent / -per_day * 86400 AS
               INTEGER)
           END AS empty_at
    FROM slope;
CREATE VIEW devices AS
    SELECT d.*, s.last_poll_at, s.last_ok_at, s.last_meter_at, s.reachable, s.status_device, s.status_printer,
           s.errors,
           CASE WHEN d.gone_at IS NOT NULL THEN 'gone' WHEN s.reachable IS NULL THEN 'unknown'
                WHEN NOT s.reachable THEN 'offline' ELSE coalesce(s.status_device, 'unknown') END AS state
    FROM device_registry d LEFT JOIN device_state s USING (device_id);
"""

# Columns as the DuckDB store has them, with its times turned into Unix seconds.
COPY = {
    "device_registry": "device_id, identity, identity_kind, serial, mac, vendor, model, sys_name, address, "
    "site, epoch(first_seen)::BIGINT, epoch(last_seen)::BIGINT, epoch(gone_at)::BIGINT, gone_reason, "
    "manual::INTEGER",
    "device_addresses": "device_id, address, epoch(first_seen)::BIGINT, epoch(last_seen)::BIGINT, "
    "epoch(released_at)::BIGINT",
    "device_state": "device_id, target, epoch(last_poll_at)::BIGINT, epoch(last_ok_at)::BIGINT, "
    "epoch(last_meter_at)::BIGINT, reachable::INTEGER, error, version, rtt_ms, uptime_s, status_device, "
    "status_printer, to_json(errors)::VARCHAR, consecutive_misses, trays::VARCHAR, alerts::VARCHAR, "
    "warnings::VARCHAR",
    "status_changes": "device_id, epoch(time)::BIGINT, reachable::INTEGER, error, status_device, "
    "status_printer, "
    "to_json(errors)::VARCHAR",
    "supplies": "*",
    "supply_levels": "supply_id, epoch(time)::BIGINT, level, max_capacity, percent, state",
    "supply_latest": "supply_id, epoch(time)::BIGINT, level, max_capacity, percent, state, "
    "epoch(cycle_start)::BIGINT, fit_n, fit_t_last_d, fit_st, fit_sp, fit_stt, fit_stp",
    "supply_events": "supply_id, epoch(time)::BIGINT, kind, percent_before, percent_after",
    "meter_sources": "*",
    "meter_reads": "source_id, epoch(time)::BIGINT, value, raw",
    "meter_latest": "device_id, meter, source_id, epoch(time)::BIGINT, value, raw, epoch(kept_time)::BIGINT",
    "meter_events": "device_id, meter, epoch(time)::BIGINT, kind, value_before, value_after, "
    "epoch(time_before)::BIGINT",
    "pages_daily": "device_id, day::VARCHAR, pages, discarded_steps",
    "pages_frontier": "device_id, meter, epoch(time)::BIGINT, value",
}
ORDER = {
    "supply_levels": "supply_id, time",
    "meter_reads": "source_id, time",
    "status_changes": "device_id, time",
}
TIERED = {"supply_levels", "meter_reads"}  # read through the store's views over its three tiers


def load(duck: duckdb.DuckDBPyConnection, path: Path, batch_rows: int = 200_000) -> float:
    """Create the SQLite file and copy the DuckDB store's rows into it; returns seconds taken."""
    started = _time.perf_counter()
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    # The load is not measured: no journal while copying (WAL again for the measured ingestion).
    con.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
    for table, columns in COPY.items():
        source = f"{table}_all" if table in TIERED else table
        order = f" ORDER BY {ORDER[table]}" if table in ORDER else ""
        cur = duck.execute(f"SELECT {columns} FROM {source} t{order}")
        marks = ", ".join("?" * len(cur.description or []))
        while rows := cur.fetchmany(batch_rows):
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        con.commit()
    until = duck.execute(
        "SELECT epoch(value::TIMESTAMP_S)::BIGINT FROM settings WHERE key = 'pages_rolled_until'"
    )
    rolled = until.fetchone()
    con.execute("INSERT INTO settings VALUES ('pages_rolled_until', ?)", [str(rolled[0] if rolled else 0)])
    con.commit()
    con.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
    con.close()
    return _time.perf_counter() - started


class SqliteStore:
    """The SQLite side of the bench: opens the file and ingests cycles with the store's own rules."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES)
        self.registry = Registry()
        self.registry.load(self.con)  # type: ignore[arg-type]
        self.ingestor = Ingestor(self.registry, Settings())
        self.ingestor.load(self.con)  # type: ignore[arg-type]

    def ingest(self, docs: list[dict[str, Any]]) -> float:
        started = _time.perf_counter()
        batch = self.ingestor.batch(docs)
        con = self.con
        with con:
            self.registry._dirty.clear()  # steady state: the bench's cycles change no device
            for name, table in batch.tables.items():
                target = name.removesuffix("_recent")
                rows = [tuple(r.values()) for r in table.to_pylist()]
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    con.executemany(f"INSERT OR REPLACE INTO {target} VALUES ({marks})", rows)
            for name, table in batch.latest.items():
                rows = [tuple(r.values()) for r in table.to_pylist()]
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    con.executemany(f"INSERT OR REPLACE INTO {name} VALUES ({marks})", rows)
        return _time.perf_counter() - started

    def close(self) -> None:
        self.con.close()

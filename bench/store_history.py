"""A year (or ``days``) of five-minute history for a fleet, generated inside DuckDB with SQL.

It follows the fleet simulator's dynamics (``rust/src/sim/dynamics.rs``): each printer prints at
its own steady rate (5-120 pages per hour), starts from a page offset (0-50,000); each supply
lasts 1,500-12,000 pages (colour supplies are used by a share of the pages), spends 5% of its
cycle empty and is then replaced (a jump back to 100%), from a random phase; a printer is offline
(answers nothing) for a whole hour with a chance of 2%. 60% of printers are mono (one black
toner, meters total and black), 40% colour (four toners, meters total, black and color).

The rows are those the store keeps, laid out as the store lays them out after its daily upkeep
(:meth:`printwatch.store.Store.maintain`): supply levels at every whole-percent change, state
change and replacement; meter reads once an hour (``meter_interval_s`` = 3600); closed months
in ``supply_levels`` / ``meter_reads`` and this month's closed days in the ``*_days`` tables,
sorted by series and time; the current day in the ``*_recent`` tables in arrival order; closed
days' pages rolled up (``pages_daily``); status changes at each offline hour; the latest-state
tables, the registry and the replacement events. :func:`cycle_docs` then gives the next cycles'
poll documents, continuing the same model, for the ingestion benchmark.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import duckdb
from printwatch.store.store import roll_up_pages

START = datetime(2025, 12, 1)
MACROS = """
CREATE OR REPLACE TEMP MACRO u(a, b) AS ((hash(a, b) % 1000003) / 1000003.0);
"""


def printers_sql(n: int) -> str:
    return f"""
    CREATE OR REPLACE TEMP TABLE g_printers AS
    SELECT i::INTEGER AS device_id,
           5 + 115 * u(i, 1) AS pph,
           (hash(i, 2) % 50000)::BIGINT AS page_offset,
           u(i, 3) < 0.4 AS color,
           0.1 + 0.3 * u(i, 6) AS color_share,
           (hash(i, 4) % 300)::INTEGER AS phase_s
    FROM range(1, {n} + 1) t(i)
    """


SUPPLIES_SQL = """
CREATE OR REPLACE TEMP TABLE g_supplies AS
WITH s AS (
    SELECT p.*, k AS supply_index
    FROM g_printers p, (SELECT unnest([1, 2, 3, 4]) AS k)
    WHERE k = 1 OR p.color
)
SELECT (row_number() OVER (ORDER BY device_id, supply_index))::INTEGER AS supply_id, device_id, supply_index,
       ['Black', 'Cyan', 'Magenta', 'Yellow'][supply_index] || ' Toner Cartridge' AS description,
       lower(['Black', 'Cyan', 'Magenta', 'Yellow'][supply_index]) AS color,
       [100, 7000, 20000][(1 + hash(device_id, 9) % 3)::BIGINT]::INTEGER AS max_capacity,
       -- hours one cartridge lasts, and the cycle with its 5% spent empty
       (1500 + 10500 * u(device_id * 8 + supply_index, 13))
         / (pph * CASE WHEN supply_index = 1 THEN 1 ELSE color_share END) AS full_h,
       full_h / 0.95 AS period_h,
       u(device_id * 8 + supply_index, 14) AS phase
FROM s
"""


def levels_sql(days: int) -> str:
    """Every whole-percent step of every cartridge cycle inside the window (hours from START)."""
    return f"""
    CREATE OR REPLACE TEMP TABLE g_levels AS
    WITH cycles AS (
        SELECT supply_id, max_capacity, period_h, full_h, phase,
               unnest(range(0, (ceil({days} * 24 / period_h) + 2)::BIGINT)) AS k
        FROM g_supplies
    ), steps AS (
        SELECT supply_id, max_capacity, k, p,
               (k - phase) * period_h + (100 - p) / 100.0 * full_h AS h
        FROM cycles, (SELECT unnest(range(0, 101)) AS p)
    )
    SELECT supply_id, date_trunc('second', START_TS + to_microseconds((h * 3600e6)::BIGINT)) AS time,
           (p * max_capacity / 100)::INTEGER AS level, max_capacity, p::FLOAT AS percent,
           CASE WHEN p = 0 THEN 'empty' WHEN p < 10 THEN 'low' ELSE 'ok' END AS state, k, p
    FROM steps WHERE h >= 0 AND h < {days} * 24
    """.replace("START_TS", f"TIMESTAMP '{START.isoformat()}'")


def meters_sql(days: int) -> str:
    """Hourly meter reads (the store keeps one an hour), except in offline hours."""
    return f"""
    CREATE OR REPLACE TEMP TABLE g_sources AS
    SELECT (row_number() OVER (ORDER BY device_id, m))::INTEGER AS source_id, device_id, meter, oid, rule
    FROM (
        SELECT p.device_id, m.*
        FROM g_printers p, (VALUES (1, 'total', '1.3.6.1.2.1.43.10.2.1.4.1.1', 'prtMarkerLifeCount'),
                                   (2, 'black', '1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.34', 'xerox.black'),
                                   (3, 'color', '1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.33', 'xerox.color'))
                           m(m, meter, oid, rule)
        WHERE m.m < 3 OR p.color
    );
    CREATE OR REPLACE TEMP TABLE g_offline AS
    SELECT device_id, h FROM g_printers, (SELECT unnest(range(0, {days} * 24)) AS h)
    WHERE u(device_id * 100003 + h, 15) < 0.02
    """


def meter_value_sql() -> str:
    return """
        (p.page_offset + floor(p.pph * (hh + p.phase_s / 3600.0)))::BIGINT AS total_v,
        CASE s.meter WHEN 'total' THEN total_v
                     WHEN 'black' THEN (total_v * CASE WHEN p.color THEN 1 - p.color_share ELSE 1 END)::BIGINT
                     ELSE total_v - (total_v * (1 - p.color_share))::BIGINT END AS value
    """


def generate(con: duckdb.DuckDBPyConnection, printers: int, days: int) -> dict[str, int]:
    """Fill an empty store (schema already migrated) with ``days`` of history for ``printers``."""
    con.execute(MACROS)
    con.execute(printers_sql(printers))
    con.execute(SUPPLIES_SQL)
    con.execute(levels_sql(days))
    con.execute(meters_sql(days))
    start = f"TIMESTAMP '{START.isoformat()}'"
    last_day = START + timedelta(days=days - 1)
    end = START + timedelta(days=days)
    con.execute(
        f"""
        INSERT INTO device_registry
        SELECT device_id, 'serial:SN' || lpad(device_id::VARCHAR, 8, '0'), 'serial',
            'SN' || lpad(device_id::VARCHAR, 8, '0'),
               '00:00:aa:' || printf('%02x:%02x:%02x', device_id // 65536 % 256, device_id // 256 % 256,
                   device_id % 256),
               CASE WHEN color THEN 'xerox' ELSE 'hp' END,
                   CASE WHEN color THEN 'AltaLink C8135' ELSE 'LaserJet M507' END,
               'printer-' || device_id,
                   '10.' || (device_id // 65536) || '.' || (device_id // 256 % 256) || '.' || (device_id
                   % 256),
               NULL, {start}, TIMESTAMP '{end.isoformat()}', NULL, NULL, false
        FROM g_printers;
        INSERT INTO device_addresses SELECT device_id, address, first_seen, last_seen,
            NULL FROM device_registry;
        INSERT INTO supplies SELECT supply_id, device_id, supply_index, description, 'toner', 'consumed',
            color,
               CASE max_capacity WHEN 100 THEN 'percent' ELSE 'tenthsOfGrams' END, false FROM g_supplies;
        INSERT INTO meter_sources SELECT source_id, device_id, meter, oid, rule FROM g_sources;
        """
    )
    # The tiers as the daily upkeep leaves them: closed months sorted by series and time, each
    # on its own; this month's closed days sorted by series and time; today in arrival order.
    this_month = datetime(last_day.year, last_day.month, 1)
    meter_rows = f"""
        SELECT s.source_id, {start} + to_seconds((hh * 3600 + p.phase_s)::BIGINT) AS time, value, NULL AS raw,
               hh // 24 AS day_no
        FROM (SELECT unnest(range(?, ?)) AS hh), g_sources s JOIN g_printers p USING (device_id),
             LATERAL (SELECT {meter_value_sql()})
        WHERE NOT EXISTS (SELECT 1 FROM g_offline o WHERE o.device_id = s.device_id AND o.h = hh)
    """
    month = START
    while month < this_month:
        following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
        hours = [
            int((month - START).total_seconds()) // 3600,
            int((following - START).total_seconds()) // 3600,
        ]
        con.execute(
            """INSERT INTO supply_levels SELECT supply_id, time, level, max_capacity, percent,
                state FROM g_levels
               WHERE time >= ? AND time < ? ORDER BY supply_id, time""",
            [month, following],
        )
        con.execute(
            f"INSERT INTO meter_reads SELECT source_id, time, value, raw FROM ({meter_rows}) "
            "ORDER BY source_id, time",
            hours,
        )
        month = following
    hours = [int((this_month - START).total_seconds()) // 3600, (days - 1) * 24]
    con.execute(
        """INSERT INTO supply_levels_days SELECT supply_id, time, level, max_capacity, percent,
            state FROM g_levels
           WHERE time >= ? AND time < ? ORDER BY supply_id, time""",
        [this_month, last_day],
    )
    con.execute(
        f"""INSERT INTO meter_reads_days SELECT source_id, time, value, raw FROM ({meter_rows})
            ORDER BY source_id, time""",
        hours,
    )
    con.execute(
        """INSERT INTO supply_levels_recent SELECT supply_id, time, level, max_capacity, percent, state
           FROM g_levels WHERE time >= ? ORDER BY time""",
        [last_day],
    )
    con.execute(
        f"INSERT INTO meter_reads_recent SELECT source_id, time, value, raw FROM ({meter_rows}) "
        "ORDER BY time, source_id",
        [(days - 1) * 24, days * 24],
    )
    con.execute(
        f"""
        INSERT INTO supply_events
        SELECT supply_id, time, 'replaced', 0, 100 FROM g_levels WHERE p = 100 AND k > 0 ORDER BY time;
        INSERT INTO status_changes
        SELECT device_id, {start} + to_microseconds(((h + e) * 3600e6)::BIGINT), e = 1,
               CASE WHEN e = 0 THEN 'timeout' END, CASE WHEN e = 1 THEN 'running' END,
               CASE WHEN e = 1 THEN 'idle' END, CASE WHEN e = 1 THEN []::VARCHAR[] END
        FROM g_offline o, (SELECT unnest([0, 1]) AS e)
        -- a run of offline hours: down at its start, up at its end
        WHERE NOT EXISTS (SELECT 1 FROM g_offline x WHERE x.device_id = o.device_id AND x.h = o.h + CASE
            e WHEN 0 THEN -1 ELSE 1 END)
        ORDER BY 2;
        -- The last kept row of every series, with the least-squares sums since the last replacement.
        INSERT INTO supply_latest
        WITH last AS (SELECT supply_id, arg_max(k, time) AS k, max(time) AS t FROM g_levels GROUP BY ALL),
             cyc AS (SELECT l.supply_id,
                 min(l.time) AS cycle_start FROM g_levels l JOIN last USING (supply_id)
                     WHERE l.k = last.k GROUP BY ALL),
             pts AS (SELECT l.*, c.cycle_start, epoch(l.time - c.cycle_start) / 86400 AS td
                     FROM g_levels l JOIN cyc c USING (supply_id) WHERE l.time >= c.cycle_start)
        SELECT supply_id, arg_max(time, time), arg_max(level, time), arg_max(max_capacity, time),
               arg_max(percent, time), arg_max(state, time), any_value(cycle_start), count(*)::INTEGER,
               max(td), sum(td), sum(percent), sum(td * td), sum(td * percent)
        FROM pts GROUP BY supply_id;
        INSERT INTO meter_latest
        SELECT s.device_id, s.meter, s.source_id, arg_max(r.time, r.time), arg_max(r.value, r.time), NULL,
               arg_max(r.time, r.time)
        FROM meter_reads_all r JOIN g_sources s USING (source_id)
        GROUP BY ALL;
        INSERT INTO device_state
        SELECT device_id, address || ':161', TIMESTAMP '{end.isoformat()}' - INTERVAL 5 MINUTE,
               TIMESTAMP '{end.isoformat()}' - INTERVAL 5 MINUTE,
                   TIMESTAMP '{end.isoformat()}' - INTERVAL 5 MINUTE,
               true, NULL, '2c', 0.4, 86400, 'running', 'idle', []::VARCHAR[], 0, '[]', '[]', '[]'
        FROM device_registry;
        """
    )
    # The daily upkeep has rolled up every closed day's pages.
    con.execute("BEGIN TRANSACTION")
    roll_up_pages(con, last_day)
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    counts = {}
    tables = [
        "supply_levels",
        "supply_levels_days",
        "supply_levels_recent",
        "meter_reads",
        "meter_reads_days",
    ]
    tables += [
        "meter_reads_recent",
        "status_changes",
        "supply_events",
        "supplies",
        "meter_sources",
        "pages_daily",
    ]
    for table in tables:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    for temp in ("g_levels", "g_offline", "g_sources", "g_supplies", "g_printers"):
        con.execute(f"DROP TABLE {temp}")
    return counts


def cycle_docs(printers: int, days: int, cycle: int) -> list[dict[str, Any]]:
    """The poll documents of the fleet's next cycle (``cycle`` five-minute steps after the history)."""
    con = duckdb.connect()
    con.execute(MACROS)
    con.execute(printers_sql(printers))
    con.execute(SUPPLIES_SQL)
    t = START + timedelta(days=days, minutes=5 * cycle)
    hours = (t - START).total_seconds() / 3600
    printers_rows = con.execute(
        "SELECT device_id, pph, page_offset, color, color_share FROM g_printers ORDER BY device_id"
    ).fetchall()
    supplies: dict[int, list[tuple[Any, ...]]] = {}
    for row in con.execute(
        "SELECT device_id, supply_index, description, color, max_capacity, full_h, period_h, phase "
        "FROM g_supplies"
    ).fetchall():
        supplies.setdefault(row[0], []).append(row)
    con.close()
    stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    docs = []
    for device_id, pph, offset, color, share in printers_rows:
        total = int(offset + math.floor(pph * hours))
        black = int(total * (1 - share)) if color else total
        meters = {"total": total, "black": black} | (
            {"color": total - int(total * (1 - share))} if color else {}
        )
        oids = {"total": ("1.3.6.1.2.1.43.10.2.1.4.1.1", "prtMarkerLifeCount"),
                "black": ("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.34", "xerox.black"),
                "color": ("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.33", "xerox.color")}  # fmt: skip
        sup = []
        for _, index, description, colour, cap, full_h, period_h, phase in supplies[device_id]:
            x = (hours / period_h + phase) % 1.0
            p = max(0, math.ceil(100 * (1 - x * period_h / full_h))) if x * period_h < full_h else 0
            sup.append(
                {"index": index, "description": description, "type": "toner", "class": "consumed",
                 "color": colour,
                 "unit": "percent" if cap == 100 else "tenthsOfGrams", "max_capacity": cap,
                 "level": p * cap // 100, "percent": float(p),
                 "state": "empty" if p == 0 else "low" if p < 10 else "ok", "coarse": False, "flags": []}
            )  # fmt: skip
        address = f"10.{device_id // 65536}.{device_id // 256 % 256}.{device_id % 256}"
        docs.append(
            {"target": f"{address}:161", "reachable": True, "version": "2c", "rtt_ms": 0.4, "time": stamp,
             "sys": {"name": f"printer-{device_id}", "uptime_s": 86400},
             "vendor": "xerox" if color else "hp", "model": "AltaLink C8135" if color else "LaserJet M507",
             "serial": f"SN{device_id:08d}", "mac": None,
             "status": {"device": "running", "printer": "idle", "errors": []},
             "meters": meters, "meter_evidence": {m: {"oid": oids[m][0], "raw": v, "rule": oids[m][1]}
                                                  for m, v in meters.items()},
             "supplies": sup, "trays": [], "alerts": [], "warnings": [], "failures": [], "wire": {}}
        )  # fmt: skip
    return docs

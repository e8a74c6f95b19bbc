"""The collector's PostgreSQL schema: migrations numbered as DuckDB's, monthly partitions.

The tables that grow with time are partitioned by month (declarative range partitioning):
``messages`` by ``received_at`` (the collector's clock), ``meter_reads``, ``counter_reads``,
``supply_levels`` and ``device_days`` by ``time`` (the appliance's). Each has a ``DEFAULT``
partition for rows outside the months made so far (an appliance's clock years off).
:func:`make_partitions` makes the months around now ahead of time, moving any rows the default
partition holds for them; :func:`drop_partitions` drops the months older than the retention.
The sites' streams (``sites.last_seq``) are not partitioned: exactly-once rests on them, not on
``messages``, whose primary key must include its partition key.

Error handling: psycopg's errors propagate (the backend names the database).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from printwatch.collector.storage.schema_common import numbered

#: The partitioned tables and their partition key.
PARTITIONED: dict[str, str] = {
    "messages": "received_at",
    "meter_reads": "time",
    "counter_reads": "time",
    "supply_levels": "time",
    "device_days": "time",
}
#: Months made ahead of the current one (and one behind: a backlog arriving after a month ends).
MONTHS_AHEAD = 3
MONTHS_BEHIND = 1


def _defaults(*tables: str) -> str:
    return "".join(f"CREATE TABLE {t}_default PARTITION OF {t} DEFAULT;\n" for t in tables)


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "sites, keys, devices, messages, reads, supplies, triggers, snapshots",
        """
        CREATE TABLE sites (
            site_id VARCHAR PRIMARY KEY, name VARCHAR, contact VARCHAR, created_at TIMESTAMP NOT NULL,
            token_hash BYTEA, token_expires_at TIMESTAMP, enrolled_at TIMESTAMP,
            public_key BYTEA, key_id VARCHAR, last_seq BIGINT NOT NULL DEFAULT 0, last_seen TIMESTAMP,
            billing_cycle VARCHAR NOT NULL DEFAULT 'monthly', billing_day INTEGER NOT NULL DEFAULT 1,
            settings JSON NOT NULL DEFAULT '{}', settings_version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX sites_key ON sites (key_id);
        CREATE TABLE devices (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, serial VARCHAR, vendor VARCHAR, model VARCHAR,
            mac VARCHAR, name VARCHAR, address VARCHAR, supplies JSON, registered_at TIMESTAMP NOT NULL,
            PRIMARY KEY (site_id, n)
        );
        CREATE TABLE messages (
            site_id VARCHAR NOT NULL, seq BIGINT NOT NULL, kind VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL, bytes INTEGER NOT NULL, payload JSON NOT NULL,
            PRIMARY KEY (site_id, seq, received_at)
        ) PARTITION BY RANGE (received_at);
        CREATE TABLE meter_latest (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, meter VARCHAR NOT NULL, value BIGINT NOT NULL,
            time TIMESTAMP NOT NULL, PRIMARY KEY (site_id, n, meter)
        );
        CREATE TABLE meter_reads (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, meter VARCHAR NOT NULL, time TIMESTAMP NOT NULL,
            value BIGINT NOT NULL, source VARCHAR NOT NULL, cycle VARCHAR, seq BIGINT NOT NULL
        ) PARTITION BY RANGE (time);
        CREATE TABLE device_days (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, time TIMESTAMP NOT NULL, polls INTEGER,
            answered INTEGER, status VARCHAR, seq BIGINT NOT NULL
        ) PARTITION BY RANGE (time);
        CREATE TABLE supply_levels (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER, time TIMESTAMP NOT NULL,
            percent INTEGER, seq BIGINT NOT NULL
        ) PARTITION BY RANGE (time);
        CREATE TABLE reorders (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER NOT NULL,
            time TIMESTAMP NOT NULL, percent DOUBLE PRECISION, why VARCHAR NOT NULL,
            days_to_empty DOUBLE PRECISION, seq BIGINT NOT NULL
        );
        CREATE TABLE snapshots (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, time TIMESTAMP NOT NULL, doc JSON NOT NULL,
            seq BIGINT NOT NULL
        );
        CREATE TABLE billing_notices (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, cycle VARCHAR NOT NULL,
            noticed_at TIMESTAMP NOT NULL
        );
        """
        + _defaults("messages", "meter_reads", "device_days", "supply_levels"),
    ),
    (
        2,
        "device numbers per appliance key; API tokens",
        """
        CREATE TABLE device_keys (
            site_id VARCHAR NOT NULL, key_id VARCHAR NOT NULL, wire_n INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (site_id, key_id, wire_n)
        );
        INSERT INTO device_keys
            SELECT d.site_id, s.key_id, d.n, d.n FROM devices d JOIN sites s USING (site_id)
            WHERE s.key_id IS NOT NULL;
        CREATE TABLE api_tokens (
            token_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, token_hash BYTEA NOT NULL UNIQUE,
            scopes VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP,
            last_used_at TIMESTAMP
        );
        """,
    ),
    (
        3,
        "named counters of billing reads; the MSP's ERP names of meters",
        """
        CREATE TABLE counter_reads (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, name VARCHAR NOT NULL, oid VARCHAR NOT NULL,
            value BIGINT NOT NULL, time TIMESTAMP NOT NULL, cycle VARCHAR NOT NULL, seq BIGINT NOT NULL
        ) PARTITION BY RANGE (time);
        CREATE TABLE meter_names (
            site_id VARCHAR NOT NULL DEFAULT '', vendor VARCHAR NOT NULL DEFAULT '',
            model VARCHAR NOT NULL DEFAULT '', meter VARCHAR NOT NULL, erp_name VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL, PRIMARY KEY (site_id, vendor, model, meter)
        );
        """
        + _defaults("counter_reads"),
    ),
    (
        4,
        "indexes for the console's questions",
        """
        -- A serial across sites (a site's devices: the primary key).
        CREATE INDEX devices_serial ON devices (serial);
        -- A cycle's billing reads; a device's latest reads.
        CREATE INDEX meter_reads_cycle ON meter_reads (site_id, cycle, n) WHERE source = 'billing';
        CREATE INDEX meter_reads_device ON meter_reads (site_id, n, meter, time);
        CREATE INDEX counter_reads_device ON counter_reads (site_id, n, seq);
        CREATE INDEX device_keys_n ON device_keys (site_id, n);
        -- A site's bytes of the day (its quota).
        CREATE INDEX messages_received ON messages (site_id, received_at);
        """,
    ),
    *numbered(5, 6),  # the same statements on both backends
    (
        7,
        "room in meter_latest's pages for its updates in place (HOT)",
        """
        -- Every aggregate rewrites the latest value of each of its meters (bench/collector_ingest.py:
        -- the upsert was PostgreSQL's costliest statement). With room left in each page the new
        -- row version stays in the page and the primary key is not touched (a HOT update): 98 %
        -- of them instead of 5 %. Pages written from now on; VACUUM FULL rewrites the old ones.
        ALTER TABLE meter_latest SET (fillfactor = 50);
        """,
    ),
    (
        8,
        "indexes for the console at size; how far each site's supplies are refreshed",
        """
        -- A site's latest day reported (the Sites page's devices answering): 124 -> 62 ms alone at
        -- 100 sites x 100 printers (bench/console_pages.py).
        CREATE INDEX device_days_site ON device_days (site_id, time);
        -- A supply's levels since its order opened (an installation seen), per site.
        CREATE INDEX supply_levels_device ON supply_levels (site_id, n, supply_index, time);
        -- A site's reorder triggers not folded yet; the newest across sites (GET /api/reorders).
        CREATE INDEX reorders_site_seq ON reorders (site_id, seq);
        CREATE INDEX reorders_time ON reorders (time);
        -- The queue's pages (oldest first) and each site's orders waiting.
        CREATE INDEX supply_orders_opened ON supply_orders (opened_at, site_id, n, supply_index);
        CREATE INDEX supply_orders_waiting ON supply_orders (site_id) WHERE state <> 'installed';
        -- How far each site's messages were looked at by supplies.refresh (its last_seq then):
        -- a site is refreshed again only once it sent more.
        CREATE TABLE supply_refresh_marks (site_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL);
        """,
    ),
    (
        9,
        "the supplies queue's whole order in one index",
        """
        -- The queue is read oldest first by (opened_at, site_id, n, supply_index, opened_seq), and
        -- its CSV export a page after another from the last row's key: with the whole key in the
        -- index each page is a short index scan (4 ms a page of 1,000 at 29,200 orders) instead
        -- of every order joined and sorted again (52 ms a page). Analysed here: a queue filled by
        -- one refresh has no statistics yet, and without them the planner never takes the index.
        DROP INDEX IF EXISTS supply_orders_opened;
        CREATE INDEX supply_orders_queue ON supply_orders (opened_at, site_id, n, supply_index, opened_seq);
        ANALYZE supply_orders;
        """,
    ),
    *numbered(10, 11),  # the same statements on both backends
    (
        12,
        "the supplies refresh keeps each open order's lowest level",
        """
        -- An open order's lowest supply level seen so far: the supplies refresh reads only the
        -- levels received since its last run (NULL: opened before, its levels read once more).
        ALTER TABLE supply_orders ADD COLUMN lowest DOUBLE PRECISION;
        -- The same refresh finds a site's new levels by their sequence number.
        CREATE INDEX supply_levels_seq ON supply_levels (site_id, seq);
        """,
    ),
    *numbered(13, 13),  # the same statement on both backends
]

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "devices": ("site_id", "n"),
    "meter_latest": ("site_id", "n", "meter"),
    "meter_names": ("site_id", "vendor", "model", "meter"),
}


def month_start(at: dt.datetime | dt.date, shift: int = 0) -> dt.datetime:
    """Midnight of the first day of ``at``'s month, ``shift`` months later (or earlier)."""
    index = at.year * 12 + at.month - 1 + shift
    return dt.datetime(index // 12, index % 12 + 1, 1)


_MONTH = re.compile(r"_p(\d{4})(\d{2})$")


def partitions(con: Any, table: str) -> dict[str, dt.datetime]:
    """The monthly partitions of ``table``: ``{name: the month's start}`` (not the default)."""
    rows = con.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
        [table],
    ).fetchall()
    found = {}
    for (name,) in rows:
        match = _MONTH.search(name)
        if match:
            found[name] = dt.datetime(int(match[1]), int(match[2]), 1)
    return found


def make_partition(con: Any, table: str, start: dt.datetime) -> None:
    """The month from ``start`` of ``table``, with the rows its default partition holds for it."""
    column, end = PARTITIONED[table], month_start(start, 1)
    name = f"{table}_p{start:%Y%m}"
    bounds = [start, end]
    con.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    con.execute(
        f"WITH moved AS (DELETE FROM {table}_default WHERE {column} >= %s AND {column} < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        bounds,
    )
    con.execute(
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{start:%Y-%m-%d}') "
        f"TO ('{end:%Y-%m-%d}')"
    )


def make_partitions(con: Any, now: dt.datetime) -> list[str]:
    """The months from :data:`MONTHS_BEHIND` before ``now``'s to :data:`MONTHS_AHEAD` after it, of
    every partitioned table, where missing; returns the partitions made."""
    made = []
    for table in PARTITIONED:
        have = set(partitions(con, table).values())
        for shift in range(-MONTHS_BEHIND, MONTHS_AHEAD + 1):
            start = month_start(now, shift)
            if start not in have:
                make_partition(con, table, start)
                made.append(f"{table}_p{start:%Y%m}")
    return made


def drop_partitions(con: Any, now: dt.datetime, retention_months: int) -> list[str]:
    """Drop the months that ended more than ``retention_months`` before ``now``'s month began
    (and the default partition's rows as old); returns the partitions dropped."""
    cutoff = month_start(now, -retention_months)
    dropped = []
    for table, column in PARTITIONED.items():
        for name, start in sorted(partitions(con, table).items()):
            if month_start(start, 1) <= cutoff:
                con.execute(f"DROP TABLE {name}")
                dropped.append(name)
        con.execute(f"DELETE FROM {table}_default WHERE {column} < %s", [cutoff])
    return dropped

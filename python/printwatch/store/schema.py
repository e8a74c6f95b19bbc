"""The store's schema: ordered migrations recorded in ``schema_version``, run when a store opens.

A migration is applied once, in order, inside the transaction that records it, so a store written
by an older printwatch opens in a newer one and a crash half-way through a migration leaves the
store at the version before it. Migrations only ever get appended to :data:`MIGRATIONS`.

Layout (the on-disk cost is in docs/benchmarks.md):

* ``device_registry`` and ``device_addresses``, ``registry_events``, ``manual_targets``, ``exclusions``:
  the device registry (see :mod:`printwatch.store.registry`).
* ``device_state``: one row per device, the last poll (status, trays, alerts); ``status_changes``
  keeps a row only when reachability, status or errors change.
* Supplies: ``supplies`` names each series (device, index, description); levels are kept when
  they change; ``supply_latest`` carries the last level and the least-squares sums since the last
  replacement, so the forecast reads one row per supply.
* Meters: ``meter_sources`` names a device's meter with its evidence (OID, rule); reads are kept
  when the value changed and ``meter_interval_s`` has passed since the last kept read, and always
  when it went backwards; ``meter_latest`` holds the last kept read of every meter;
  ``meter_events`` records counters that went backwards or jumped.
* Level and meter rows live in three tiers (migration 2), which is what makes them small and a
  device's history quick to find: today's rows in arrival order (``*_recent``), the rest of the
  month sorted by series and time one day at a time (``*_days``), closed months sorted by series
  and time (``supply_levels``, ``meter_reads``). Their times are kept to the second
  (``TIMESTAMP_S``: sorted by series, a steady poll interval packs to a few bits a row).
* Named counters (migration 6): ``counter_sources`` names each counter a device names (its own
  name, OID, the rule that read it, the unit where the MIB says it); their reads share the
  meter tiers and rules (``meter_reads*``, ``meter_latest`` under the key ``@<oid> <name>``,
  ``meter_events``): source ids are one numbering across ``meter_sources`` and
  ``counter_sources``, so a read belongs to exactly one of them.
* ``pages_daily`` (migration 3): pages per device and closed day, rolled up by the daily upkeep
  from the meter reads; ``pages_frontier`` keeps each counted meter's last read before
  ``pages_rolled_until`` (a setting), from which the days not rolled up yet are counted live.
* Alerts (:mod:`printwatch.alerts`): ``alert_log`` keeps each alert with its times,
  ``alert_conditions`` the hysteresis counters of what is being watched, ``alert_outbox`` the
  notifications until they are delivered.
"""

from __future__ import annotations

import duckdb

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "registry, device state, supplies, meters",
        """
        CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        INSERT INTO settings VALUES ('poll_interval_s', '300'), ('retention_days', '365'),
            ('meter_interval_s', '3600'), ('replacement_jump_percent', '10'),
            ('max_pages_per_minute', '300');

        CREATE TABLE device_registry (
            device_id INTEGER NOT NULL,
            identity VARCHAR NOT NULL,
            identity_kind VARCHAR NOT NULL,
            serial VARCHAR, mac VARCHAR, vendor VARCHAR, model VARCHAR, sys_name VARCHAR,
            address VARCHAR, site VARCHAR,
            first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
            gone_at TIMESTAMP, gone_reason VARCHAR,
            manual BOOLEAN NOT NULL DEFAULT false
        );
        CREATE TABLE device_addresses (
            device_id INTEGER NOT NULL, address VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, released_at TIMESTAMP
        );
        CREATE TABLE registry_events (
            time TIMESTAMP NOT NULL, kind VARCHAR NOT NULL, device_id INTEGER,
            other_device_id INTEGER, address VARCHAR, detail VARCHAR
        );
        CREATE TABLE manual_targets (
            address VARCHAR NOT NULL, name VARCHAR, added_at TIMESTAMP NOT NULL
        );
        CREATE TABLE exclusions (
            network VARCHAR NOT NULL, reason VARCHAR, added_at TIMESTAMP NOT NULL
        );

        CREATE TABLE device_state (
            device_id INTEGER NOT NULL, target VARCHAR, last_poll_at TIMESTAMP NOT NULL,
            last_ok_at TIMESTAMP, last_meter_at TIMESTAMP, reachable BOOLEAN NOT NULL,
            error VARCHAR, version VARCHAR, rtt_ms DOUBLE, uptime_s BIGINT,
            status_device VARCHAR, status_printer VARCHAR, errors VARCHAR[],
            consecutive_misses INTEGER NOT NULL,
            trays JSON, alerts JSON, warnings JSON
        );
        CREATE TABLE status_changes (
            device_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, reachable BOOLEAN NOT NULL,
            error VARCHAR, status_device VARCHAR, status_printer VARCHAR, errors VARCHAR[]
        );

        CREATE TABLE supplies (
            supply_id INTEGER NOT NULL, device_id INTEGER NOT NULL, supply_index INTEGER,
            description VARCHAR, type VARCHAR, class VARCHAR, color VARCHAR, unit VARCHAR,
            coarse BOOLEAN
        );
        CREATE TABLE supply_levels (
            supply_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, level INTEGER,
            max_capacity INTEGER, percent FLOAT, state VARCHAR
        );
        CREATE TABLE supply_levels_recent (
            supply_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, level INTEGER,
            max_capacity INTEGER, percent FLOAT, state VARCHAR
        );
        CREATE TABLE supply_latest (
            supply_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, level INTEGER,
            max_capacity INTEGER, percent FLOAT, state VARCHAR,
            cycle_start TIMESTAMP NOT NULL, fit_n INTEGER NOT NULL, fit_t_last_d DOUBLE NOT NULL,
            fit_st DOUBLE NOT NULL, fit_sp DOUBLE NOT NULL, fit_stt DOUBLE NOT NULL,
            fit_stp DOUBLE NOT NULL
        );
        CREATE TABLE supply_events (
            supply_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, kind VARCHAR NOT NULL,
            percent_before FLOAT, percent_after FLOAT
        );

        CREATE TABLE meter_sources (
            source_id INTEGER NOT NULL, device_id INTEGER NOT NULL, meter VARCHAR NOT NULL,
            oid VARCHAR, rule VARCHAR
        );
        CREATE TABLE meter_reads (
            source_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, value BIGINT NOT NULL, raw BIGINT
        );
        CREATE TABLE meter_reads_recent (
            source_id INTEGER NOT NULL, time TIMESTAMP NOT NULL, value BIGINT NOT NULL, raw BIGINT
        );
        CREATE TABLE meter_latest (
            device_id INTEGER NOT NULL, meter VARCHAR NOT NULL, source_id INTEGER NOT NULL,
            time TIMESTAMP NOT NULL, value BIGINT NOT NULL, raw BIGINT, kept_time TIMESTAMP NOT NULL
        );
        CREATE TABLE meter_events (
            device_id INTEGER NOT NULL, meter VARCHAR NOT NULL, time TIMESTAMP NOT NULL,
            kind VARCHAR NOT NULL, value_before BIGINT, value_after BIGINT, time_before TIMESTAMP
        );
        """,
    ),
    (
        2,
        "history in three tiers (today, this month by day, closed months), times to the second",
        """
        ALTER TABLE supply_levels ALTER time TYPE TIMESTAMP_S;
        ALTER TABLE supply_levels_recent ALTER time TYPE TIMESTAMP_S;
        ALTER TABLE meter_reads ALTER time TYPE TIMESTAMP_S;
        ALTER TABLE meter_reads_recent ALTER time TYPE TIMESTAMP_S;
        CREATE TABLE supply_levels_days (
            supply_id INTEGER NOT NULL, time TIMESTAMP_S NOT NULL, level INTEGER,
            max_capacity INTEGER, percent FLOAT, state VARCHAR
        );
        CREATE TABLE meter_reads_days (
            source_id INTEGER NOT NULL, time TIMESTAMP_S NOT NULL, value BIGINT NOT NULL, raw BIGINT
        );
        """,
    ),
    (
        3,
        "pages per closed day rolled up by the daily upkeep",
        """
        CREATE TABLE pages_daily (
            device_id INTEGER NOT NULL, day DATE NOT NULL, pages BIGINT NOT NULL,
            discarded_steps BIGINT NOT NULL
        );
        CREATE TABLE pages_frontier (
            device_id INTEGER NOT NULL, meter VARCHAR NOT NULL, time TIMESTAMP_S NOT NULL,
            value BIGINT NOT NULL
        );
        INSERT INTO settings VALUES ('pages_rolled_until', '1970-01-01 00:00:00');
        """,
    ),
    (
        4,
        "alerts: their log with times, the hysteresis counters, the notification outbox",
        """
        CREATE TABLE alert_log (
            alert_id INTEGER NOT NULL, device_id INTEGER NOT NULL, kind VARCHAR NOT NULL,
            subject VARCHAR NOT NULL, severity VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL,
            closed_at TIMESTAMP, last_seen TIMESTAMP NOT NULL, detail VARCHAR, notified_at TIMESTAMP
        );
        CREATE TABLE alert_conditions (
            device_id INTEGER NOT NULL, kind VARCHAR NOT NULL, subject VARCHAR NOT NULL,
            on_count INTEGER NOT NULL, off_count INTEGER NOT NULL, updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE alert_outbox (
            notification_id INTEGER NOT NULL, alert_id INTEGER NOT NULL, event VARCHAR NOT NULL,
            channel VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, attempts INTEGER NOT NULL,
            next_attempt_at TIMESTAMP NOT NULL, sent_at TIMESTAMP, last_error VARCHAR
        );
        """,
    ),
    (
        5,
        "uplink: outbox, device numbers, reorder triggers, byte budget, transmission log",
        """
        CREATE TABLE uplink_state (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        CREATE TABLE uplink_outbox (
            seq BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
            envelope BLOB NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP NOT NULL,
            first_sent_at TIMESTAMP, last_error VARCHAR
        );
        CREATE TABLE uplink_devices (
            n INTEGER PRIMARY KEY, identity VARCHAR NOT NULL, info JSON NOT NULL, meters JSON NOT NULL
        );
        CREATE TABLE uplink_reorders (
            identity VARCHAR NOT NULL, supply_index INTEGER NOT NULL, percent DOUBLE,
            triggered_at TIMESTAMP, why VARCHAR
        );
        CREATE TABLE uplink_days (
            day DATE PRIMARY KEY, bytes BIGINT NOT NULL, messages INTEGER NOT NULL,
            thinned INTEGER NOT NULL, held INTEGER NOT NULL
        );
        CREATE TABLE uplink_log (
            n BIGINT PRIMARY KEY, time TIMESTAMP NOT NULL, seq BIGINT, kind VARCHAR, url VARCHAR,
            status INTEGER, error VARCHAR, request BLOB NOT NULL, response BLOB NOT NULL,
            prev_hash BLOB NOT NULL, hash BLOB NOT NULL
        );
        """,
    ),
    (
        6,
        "named counters: every counter a device names, read into the meter tiers",
        """
        CREATE TABLE counter_sources (
            source_id INTEGER NOT NULL, device_id INTEGER NOT NULL, name VARCHAR NOT NULL,
            oid VARCHAR NOT NULL, source VARCHAR, unit VARCHAR
        );
        """,
    ),
]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The store's schema version (0 for an empty file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER NOT NULL, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration newer than the store, in order; return the versions applied.

    Error handling: each migration runs in its own transaction with its ``schema_version`` row;
    one that fails is rolled back and re-raised with its number, leaving the store at the
    version before it. A store newer than this printwatch is refused with :class:`RuntimeError`.
    """
    have = current_version(con)
    latest = MIGRATIONS[-1][0]
    if have > latest:
        raise RuntimeError(f"store schema version {have} is newer than this printwatch knows ({latest})")
    applied = []
    for version, description, sql in MIGRATIONS:
        if version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [version, description])
            con.execute("COMMIT")
        except duckdb.Error as err:
            con.execute("ROLLBACK")
            raise RuntimeError(f"store migration {version} ({description}) failed: {err}") from err
        applied.append(version)
    return applied

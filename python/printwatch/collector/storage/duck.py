"""The collector's DuckDB backend: one file, one writing process (the embedded default).

The schema's migrations (:data:`MIGRATIONS`, numbered as PostgreSQL's in
:mod:`printwatch.collector.storage.pg_schema`), a bulk insert through Arrow, and the daily
renewal that frees what DuckDB keeps while a database is open.

Error handling: a store from a newer printwatch, or a file that is not a DuckDB store, raises
:class:`~printwatch.collector.storage.CollectorStoreError` naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from printwatch.collector.storage import CollectorStoreError, update_sql
from printwatch.collector.storage.schema_common import numbered
from printwatch.store import current_version, transaction

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "sites, keys, devices, messages, reads, supplies, triggers, snapshots",
        """
        CREATE TABLE sites (
            site_id VARCHAR PRIMARY KEY, name VARCHAR, contact VARCHAR, created_at TIMESTAMP NOT NULL,
            token_hash BLOB, token_expires_at TIMESTAMP, enrolled_at TIMESTAMP,
            public_key BLOB, key_id VARCHAR, last_seq BIGINT NOT NULL DEFAULT 0, last_seen TIMESTAMP,
            billing_cycle VARCHAR NOT NULL DEFAULT 'monthly', billing_day INTEGER NOT NULL DEFAULT 1,
            settings JSON NOT NULL DEFAULT '{}', settings_version INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE devices (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, serial VARCHAR, vendor VARCHAR, model VARCHAR,
            mac VARCHAR, name VARCHAR, address VARCHAR, supplies JSON, registered_at TIMESTAMP NOT NULL,
            PRIMARY KEY (site_id, n)
        );
        CREATE TABLE messages (
            site_id VARCHAR NOT NULL, seq BIGINT NOT NULL, kind VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL, bytes INTEGER NOT NULL, payload JSON NOT NULL,
            PRIMARY KEY (site_id, seq)
        );
        CREATE TABLE meter_latest (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, meter VARCHAR NOT NULL, value BIGINT NOT NULL,
            time TIMESTAMP NOT NULL, PRIMARY KEY (site_id, n, meter)
        );
        CREATE TABLE meter_reads (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, meter VARCHAR NOT NULL, time TIMESTAMP NOT NULL,
            value BIGINT NOT NULL, source VARCHAR NOT NULL, cycle VARCHAR, seq BIGINT NOT NULL
        );
        CREATE TABLE device_days (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, time TIMESTAMP NOT NULL, polls INTEGER,
            answered INTEGER, status VARCHAR, seq BIGINT NOT NULL
        );
        CREATE TABLE supply_levels (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER, time TIMESTAMP NOT NULL,
            percent INTEGER, seq BIGINT NOT NULL
        );
        CREATE TABLE reorders (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, supply_index INTEGER NOT NULL,
            time TIMESTAMP NOT NULL, percent DOUBLE, why VARCHAR NOT NULL, days_to_empty DOUBLE,
            seq BIGINT NOT NULL
        );
        CREATE TABLE snapshots (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, time TIMESTAMP NOT NULL, doc JSON NOT NULL,
            seq BIGINT NOT NULL
        );
        CREATE TABLE billing_notices (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, cycle VARCHAR NOT NULL,
            noticed_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        2,
        "device numbers per appliance key; API tokens",
        """
        -- An appliance numbers its devices itself; the collector's device number n is its own, so
        -- that the numbers of a replaced appliance (a new key) never land on the old one's devices.
        CREATE TABLE device_keys (
            site_id VARCHAR NOT NULL, key_id VARCHAR NOT NULL, wire_n INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (site_id, key_id, wire_n)
        );
        INSERT INTO device_keys
            SELECT d.site_id, s.key_id, d.n, d.n FROM devices d JOIN sites s USING (site_id)
            WHERE s.key_id IS NOT NULL;
        -- The MSP's credentials for the read API: only a hash is kept.
        CREATE TABLE api_tokens (
            token_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, token_hash BLOB NOT NULL UNIQUE,
            scopes VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP,
            last_used_at TIMESTAMP
        );
        """,
    ),
    (
        3,
        "named counters of billing reads; the MSP's ERP names of meters",
        """
        -- Every counter a printer names, as its billing read carried it (the device's own name
        -- and OID), beside the normalised meters of meter_reads.
        CREATE TABLE counter_reads (
            site_id VARCHAR NOT NULL, n INTEGER NOT NULL, name VARCHAR NOT NULL, oid VARCHAR NOT NULL,
            value BIGINT NOT NULL, time TIMESTAMP NOT NULL, cycle VARCHAR NOT NULL, seq BIGINT NOT NULL
        );
        -- The MSP's ERP meter name of a device counter name or a normalised meter, per contract
        -- (site) with defaults per vendor or model: '' is "any"; the most specific row wins.
        CREATE TABLE meter_names (
            site_id VARCHAR NOT NULL DEFAULT '', vendor VARCHAR NOT NULL DEFAULT '',
            model VARCHAR NOT NULL DEFAULT '', meter VARCHAR NOT NULL, erp_name VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL, PRIMARY KEY (site_id, vendor, model, meter)
        );
        """,
    ),
    (
        4,
        "indexes for the console's questions",
        """
        -- A serial across sites; a cycle's billing reads.
        CREATE INDEX devices_serial ON devices (serial);
        CREATE INDEX meter_reads_cycle ON meter_reads (site_id, cycle);
        """,
    ),
    *numbered(5, 6),  # the same statements on both backends
    (
        7,
        "room in meter_latest's pages for its updates in place (PostgreSQL only)",
        # PostgreSQL's fillfactor has no DuckDB counterpart: the number is kept in step.
        "SELECT 1",
    ),
    (
        8,
        "how far each site's supplies are refreshed (the console's indexes: PostgreSQL only)",
        # DuckDB scans its columns by zone maps; an ART index per question would cost every insert
        # and memory for little (bench/console_pages.py --backend duckdb).
        """
        CREATE TABLE supply_refresh_marks (site_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL);
        """,
    ),
    (
        9,
        "the supplies queue's whole order in one index (PostgreSQL only)",
        # DuckDB sorts the queue's few thousand rows by scanning them; an ART index is never
        # used for an ORDER BY. The number is kept in step.
        "SELECT 1",
    ),
    *numbered(10, 11),  # the same statements on both backends
    (
        12,
        "the supplies refresh keeps each open order's lowest level",
        """
        -- An open order's lowest supply level seen so far: the supplies refresh reads only the
        -- levels received since its last run (NULL: opened before, its levels read once more).
        ALTER TABLE supply_orders ADD COLUMN lowest DOUBLE PRECISION;
        """,
    ),
    *numbered(13, 13),  # the same statement on both backends
]


class DuckBackend:
    """The writer's (or a reader's) connection to a DuckDB file."""

    dialect = "duckdb"
    data_errors: tuple[type[BaseException], ...] = (
        duckdb.ConversionException,
        duckdb.OutOfRangeException,
        duckdb.InvalidInputException,
    )
    row_lock = ""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = path
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as err:
            raise CollectorStoreError(f"collector store {path}: {err}") from err
        if not read_only:
            try:
                self._migrate()
            except (duckdb.Error, RuntimeError) as err:
                self._con.close()
                raise CollectorStoreError(f"collector store {path}: {err}") from err

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def _migrate(self) -> None:
        con = self._con
        have = current_version(con)
        if have > MIGRATIONS[-1][0]:
            raise RuntimeError(f"schema version {have} is newer than this printwatch knows")
        for version, description, sql in MIGRATIONS:
            if version <= have:
                continue
            with self.transaction():
                con.execute(sql)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [version, description]
                )

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return transaction(self._con)

    def bulk(
        self,
        con: Any,
        table: str,
        columns: list[str],
        rows: list[tuple[Any, ...]],
        *,
        replace: bool = False,
    ) -> None:
        """``rows`` in one statement through Arrow; ``replace``: by the table's primary key."""
        with _registered(con, columns, rows):
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            names = ", ".join(columns)
            con.execute(f"{verb} INTO {table} ({names}) SELECT {names} FROM pw_rows")

    def update(
        self,
        con: Any,
        table: str,
        key: list[str],
        columns: list[str],
        rows: list[tuple[Any, ...]],
        assign: str,
        where: str,
    ) -> list[tuple[Any, ...]]:
        """``rows`` (``v``, through Arrow) applied by ``assign`` to the rows of ``table`` with
        their ``key`` and ``where``, in one statement: the keys of the rows updated."""
        with _registered(con, columns, rows):
            sql = update_sql(table, key, assign, where, "pw_rows v")
            return [tuple(r) for r in con.execute(sql).fetchall()]

    def renew(self) -> None:
        """Closes the database and opens it again: DuckDB keeps some memory from every hash-join
        query while the database is open in the process and frees it on close."""
        try:
            self._con.execute("CHECKPOINT")
            self._con.close()
            self._con = duckdb.connect(str(self.path))
        except duckdb.Error as err:
            raise CollectorStoreError(f"collector store {self.path}: not renewed: {err}") from err

    def close(self) -> None:
        self._con.close()


@contextmanager
def _registered(con: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> Iterator[None]:
    """``rows`` (of ``columns``) as the Arrow view ``pw_rows`` of ``con`` while in the block."""
    con.register("pw_rows", pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}))
    try:
        yield
    finally:
        con.unregister("pw_rows")

"""The collector's PostgreSQL backend (psycopg 3): several front ends and the MSP's commands on
one database at once.

The collector's SQL is written with ``?`` placeholders (DuckDB's); :class:`PgConnection`
rewrites them to psycopg's ``%s`` and binds on the client (``ClientCursor``: the same
type inference as DuckDB's literals). JSON columns are read back as text, as DuckDB gives them.
Text cannot hold NUL in PostgreSQL: a NUL in a string the collector stores is dropped (the
message's payload keeps it, escaped). A site's row is locked (``FOR UPDATE``) in the transaction
that accepts its message, so two front ends never accept the same sequence number.

At open and at each :meth:`PostgresBackend.renew` the store migrates (under an advisory lock:
front ends may start together), makes the coming months' partitions and, with
``retention_months``, drops the months older than that (:mod:`.pg_schema`).

Error handling: :class:`~printwatch.collector.storage.CollectorStoreError` names the database
(without its password) when it cannot be reached or migrated; psycopg's errors propagate from
statements.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from printwatch.clock import naive_utcnow
from printwatch.collector.storage import CollectorStoreError, StoreUnavailable, display, update_sql
from printwatch.collector.storage.pg_schema import (
    MIGRATIONS,
    PRIMARY_KEYS,
    drop_partitions,
    make_partitions,
)

#: How long a statement may take before the store gives up (an upload answered 503, retried).
STATEMENT_TIMEOUT_S = 15.0
#: How long connecting may take.
CONNECT_TIMEOUT_S = 5

#: The advisory lock that serialises migrations and partition upkeep between front ends.
UPKEEP_LOCK = 0x7077_636F  # "pwco"


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``sql`` with DuckDB's ``?`` placeholders as psycopg's ``%s`` (and ``%`` escaped), outside
    quoted literals."""
    parts = sql.split("'")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    return "'".join(parts)


def _cleaned(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``rows`` with NUL characters taken out of their text (:func:`_clean`): as they are unless a
    string holds NUL (then every row without it). Checking first costs a third of cleaning every
    value (bench/collector_ingest.py: the copy was most of a front end's CPU)."""
    if any("\x00" in v for row in rows for v in row if v.__class__ is str):
        return [tuple(_clean(v) for v in row) for row in rows]
    return rows


def _clean(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


def clean(params: Sequence[Any] | None) -> list[Any] | None:
    """``params`` with NUL dropped from strings (PostgreSQL's text cannot hold it)."""
    return None if params is None else [_clean(v) for v in params]


class PgConnection:
    """A psycopg connection speaking the collector's SQL (see the module's docstring)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | None = None, /) -> psycopg.Cursor[Any]:
        try:
            return self.raw.execute(translate(sql), clean(params))
        except psycopg.OperationalError as err:  # lost, cancelled by the timeout, server gone
            raise StoreUnavailable(f"the collector's database: {err}") from err

    def cursor(self) -> PgConnection:
        """Itself (DuckDB's readers take a cursor of the connection)."""
        return self


def connect(url: str, *, read_only: bool = False) -> psycopg.Connection[Any]:
    """A connection to ``url`` in autocommit (the store opens its own transactions)."""
    raw = psycopg.connect(
        url, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=CONNECT_TIMEOUT_S
    )
    for name in ("json", "jsonb"):
        raw.adapters.register_loader(name, TextLoader)
    raw.execute("SET TIME ZONE 'UTC'")
    raw.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_S * 1000)}")
    if read_only:
        raw.execute("SET default_transaction_read_only = on")
    return raw


class PostgresBackend:
    """The collector's store in a PostgreSQL database."""

    dialect = "postgres"
    data_errors: tuple[type[BaseException], ...] = (psycopg.DataError,)
    row_lock = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        retention_months: int | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.retention_months = retention_months
        self.now = now or naive_utcnow
        self._column_types: dict[str, dict[str, str]] = {}
        self._con = PgConnection(self._open())
        self._closer = weakref.finalize(self, _close_quietly, self._con)

    @property
    def con(self) -> PgConnection:
        """The connection; a new one when the last was lost (the server restarted, the network
        dropped): the statement that met the loss failed, the next one goes through."""
        if self._con.raw.broken:
            try:
                self._con = PgConnection(connect(self.url, read_only=self.read_only))
            except psycopg.Error as err:
                raise StoreUnavailable(f"collector store {display(self.url)}: {err}") from err
            self._closer.detach()
            self._closer = weakref.finalize(self, _close_quietly, self._con)
        return self._con

    def _open(self) -> psycopg.Connection[Any]:
        try:
            raw = connect(self.url, read_only=self.read_only)
        except psycopg.Error as err:
            raise CollectorStoreError(f"collector store {display(self.url)}: {err}") from err
        if self.read_only:
            return raw
        try:
            self._upkeep(raw)
        except (psycopg.Error, RuntimeError) as err:
            raw.close()
            raise CollectorStoreError(f"collector store {display(self.url)}: {err}") from err
        return raw

    def _upkeep(self, raw: psycopg.Connection[Any]) -> None:
        """Migrations, then the partitions around now and the retention, in one transaction
        under :data:`UPKEEP_LOCK`."""
        with raw.transaction():
            raw.execute("SET LOCAL statement_timeout = 0")  # moving a month's rows may take long
            raw.execute("SELECT pg_advisory_xact_lock(%s)", [UPKEEP_LOCK])
            migrate(raw)
            now = self.now()
            make_partitions(raw, now)
            if self.retention_months is not None:
                drop_partitions(raw, now, self.retention_months)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        con = self.con
        try:
            with con.raw.transaction():
                yield con
        except psycopg.OperationalError as err:
            raise StoreUnavailable(f"the collector's database: {err}") from err

    def bulk(
        self,
        con: Any,
        table: str,
        columns: list[str],
        rows: list[tuple[Any, ...]],
        *,
        replace: bool = False,
    ) -> None:
        """``rows`` through ``COPY``; with ``replace``, upserted by the table's primary key in one
        statement, each column sent as one array (``unnest``; the last of rows with the same key
        wins, as DuckDB's ``INSERT OR REPLACE``). Not through a temporary table: its deleted rows
        stay until the connection ends (autovacuum never visits temporary tables), and every
        upsert read them again (bench/collector_ingest.py)."""
        raw, names = con.raw, ", ".join(columns)
        if not replace:
            _copy(raw, table, names, rows, self._copy_types(raw, table, columns))
            return
        key = PRIMARY_KEYS[table]
        at = [columns.index(k) for k in key]
        last = list({tuple(r[i] for i in at): r for r in rows}.values())
        if not last:
            return
        last = _cleaned(last)
        arrays = self._arrays(raw, table, columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        _bound(raw).execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
            [list(column) for column in zip(*last, strict=True)],
        )

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
        """``rows`` (``v``, each column sent as one array) applied by ``assign`` to the rows of
        ``table`` with their ``key`` and ``where``, in one statement: the keys of the rows
        updated. A row another transaction changes meanwhile is waited for and ``where`` read
        again on its new version (READ COMMITTED), so a condition on its state holds."""
        raw = con.raw
        source = f"unnest({self._arrays(raw, table, columns)}) AS v({', '.join(columns)})"
        columns_sent = [list(column) for column in zip(*_cleaned(rows), strict=True)]
        sql = update_sql(table, key, assign, where, source)
        return [tuple(r) for r in _bound(raw).execute(sql, columns_sent).fetchall()]

    def _arrays(self, raw: psycopg.Connection[Any], table: str, columns: list[str]) -> str:
        """The parameters of ``columns`` sent as one array each, cast to the column's type."""
        types = self._types(raw, table)
        return ", ".join(f"%b::{types[c]}[]" for c in columns)

    def _copy_types(self, raw: psycopg.Connection[Any], table: str, columns: list[str]) -> list[str] | None:
        """The types of a binary ``COPY`` into ``columns`` (:data:`BINARY_COPY_TYPES`), or None
        when one of them has no binary form here (then the ``COPY`` is text)."""
        types = self._types(raw, table)
        names = [BINARY_COPY_TYPES.get(types[c]) for c in columns]
        return None if None in names else [n for n in names if n is not None]

    def _types(self, raw: psycopg.Connection[Any], table: str) -> dict[str, str]:
        """``{column: its SQL type}`` of ``table`` (asked once per store)."""
        if table not in self._column_types:
            rows = raw.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [table],
            ).fetchall()
            self._column_types[table] = {str(n): str(t) for n, t in rows}
        return self._column_types[table]

    def renew(self) -> None:
        """A fresh connection, the partitions of the coming months, the retention applied."""
        old = self._con.raw
        if old.closed:
            raise CollectorStoreError(f"collector store {display(self.url)}: not renewed: it is closed")
        try:
            self._con = PgConnection(self._open())
        except CollectorStoreError as err:
            raise CollectorStoreError(f"{err} (not renewed)") from err
        old.close()
        self._closer.detach()
        self._closer = weakref.finalize(self, _close_quietly, self._con)

    def close(self) -> None:
        self._con.raw.close()


#: The column types a ``COPY`` sends in PostgreSQL's binary format (``format_type``'s names:
#: psycopg's), which psycopg's C dumpers write in a third of the time of the text format's
#: (bench/collector_ingest.py). JSON is not among them: psycopg's JSON dumper would encode the
#: collector's text (JSON already) again; a table with such a column is copied as text.
BINARY_COPY_TYPES = {
    "character varying": "text", "text": "text", "integer": "int4", "bigint": "int8",
    "smallint": "int2", "double precision": "float8", "boolean": "bool", "bytea": "bytea",
    "timestamp without time zone": "timestamp",
}  # fmt: skip


def _copy(
    raw: psycopg.Connection[Any],
    table: str,
    names: str,
    rows: list[tuple[Any, ...]],
    types: list[str] | None = None,
) -> None:
    """``rows`` into ``table`` through ``COPY``, cleaned of NUL (:func:`_cleaned`): binary with
    ``types`` (one per column, :data:`BINARY_COPY_TYPES`), else text."""
    rows = _cleaned(rows)
    if types is not None and not _fits(rows, types):
        types = None  # PostgreSQL's text COPY refuses the value (DataError), as it always did
    binary = " (FORMAT BINARY)" if types is not None else ""
    with raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN{binary}") as copy:
        if types is not None:
            copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)


#: The ranges of the integer types that psycopg's binary dumpers would wrap around silently.
_NARROW = {"int2": (-(1 << 15), (1 << 15) - 1), "int4": (-(1 << 31), (1 << 31) - 1)}


def _fits(rows: list[tuple[Any, ...]], types: list[str]) -> bool:
    """Whether every value of ``rows``' ``int2`` and ``int4`` columns is in range: psycopg's
    binary dumper writes 2**31 as -2**31 where the text format is refused. Checked a column at a
    time (``min``, ``max``: a small part of what the binary format saves); a value that is not a
    number makes it the text format, a float one psycopg refuses (TypeError)."""
    narrow = [(i, _NARROW[t]) for i, t in enumerate(types) if t in _NARROW]
    if not narrow:
        return True
    columns = list(zip(*rows, strict=True))
    for i, (low, high) in narrow:
        column = columns[i]
        values = [v for v in column if v is not None] if None in column else column
        if not values:
            continue
        try:
            if min(values) < low or max(values) > high:
                return False
        except TypeError:  # not numbers: let the text format say what is wrong
            return False
    return True


def _bound(raw: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    """A cursor binding its parameters on the server (the connection's own bind on the client):
    a bulk statement's arrays (``%b``) go in binary, written by psycopg's C dumpers, instead of
    being quoted into the statement's text in Python (5 times the client's CPU for an upsert of
    a site's latest meter values; bench/collector_ingest.py)."""
    return psycopg.Cursor(raw)


def _close_quietly(con: PgConnection) -> None:
    """A store dropped without :meth:`~PostgresBackend.close` closes its connection."""
    con.raw.close()


def migrate(raw: psycopg.Connection[Any]) -> list[int]:
    """Every migration newer than the database, in the caller's transaction; the versions applied.

    Error handling: :class:`RuntimeError` for a database newer than this printwatch.
    """
    raw.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER NOT NULL, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    row = raw.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    have = int(row[0]) if row else 0
    if have > MIGRATIONS[-1][0]:
        raise RuntimeError(f"schema version {have} is newer than this printwatch knows")
    applied = []
    for version, description, sql in MIGRATIONS:
        if version > have:
            raw.execute(sql)
            raw.execute(
                "INSERT INTO schema_version VALUES (%s, %s, now() AT TIME ZONE 'UTC')",
                [version, description],
            )
            applied.append(version)
    return applied

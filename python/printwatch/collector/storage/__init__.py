"""The collector's storage: one narrow interface, two backends.

What the collector's modules need from storage is small: SQL run on a connection
(:class:`Connection`: ``execute`` with ``?`` placeholders, rows through ``fetchone`` and
``fetchall``), one transaction at a time around the writes that land together, a bulk insert
(one statement for a message of 10,000 printers, optionally replacing rows by their primary
key), the exceptions that mean "a value the store cannot hold", and the row lock that serialises
one site's stream. Everything else is SQL that both dialects speak; where they differ (the
schema and its migrations, the upsert, the lock), each backend owns its statements.

* :mod:`.duck` — DuckDB, one file, one process (the embedded default: the demo, a small MSP);
* :mod:`.postgres` — PostgreSQL through psycopg 3 (several front ends on one database), its
  time-growing tables partitioned by month (:mod:`.pg_schema`).

:func:`open_backend` picks one from the location: a ``postgresql://`` (or ``postgres://``) URL is
PostgreSQL, anything else a DuckDB file's path.

Error handling: :class:`CollectorStoreError` names the location (never a password) when the store
cannot be opened or migrated.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from printwatch import PrintwatchError

URL_SCHEMES = ("postgresql://", "postgres://")


class CollectorStoreError(PrintwatchError):
    """The collector's store cannot be opened; the message names the file or the database."""


class StoreUnavailable(CollectorStoreError):
    """The database cannot be reached now, or did not answer in time (PostgreSQL down, slow, a
    connection lost): the statement and its transaction did not happen; the server answers 503
    and the appliance tries again."""


class Cursor(Protocol):
    description: Any

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the collector's modules call on a connection (DB-API's common part)."""

    def execute(self, sql: str, params: Sequence[Any] | None = None, /) -> Cursor: ...


class Backend(Protocol):
    """One store's backend (see the module's docstring)."""

    #: ``"duckdb"`` or ``"postgres"``
    dialect: str
    #: What a statement raises for a value the store cannot hold (ingest answers 400).
    data_errors: tuple[type[BaseException], ...]
    #: Appended to the ``SELECT`` of a site's row in the accepting transaction ("" on DuckDB,
    #: whose one writer needs no lock).
    row_lock: str

    @property
    def con(self) -> Any: ...  # a Connection: DuckDB's own, or a PgConnection

    def transaction(self) -> AbstractContextManager[Any]: ...

    def bulk(
        self, con: Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]], *, replace: bool
    ) -> None: ...

    def update(
        self,
        con: Connection,
        table: str,
        key: list[str],
        columns: list[str],
        rows: list[tuple[Any, ...]],
        assign: str,
        where: str,
    ) -> list[tuple[Any, ...]]: ...

    def renew(self) -> None: ...

    def close(self) -> None: ...


def update_sql(table: str, key: list[str], assign: str, where: str, source: str) -> str:
    """The one statement of ``Backend.update``: ``table``'s rows matched by ``key`` against the
    rows ``v`` of ``source`` (each backend's own way of sending them), ``assign`` applied where
    ``where`` holds too, the keys of the rows updated returned."""
    match = " AND ".join(f"{table}.{k} = v.{k}" for k in key)
    back = ", ".join(f"{table}.{k}" for k in key)
    return f"UPDATE {table} SET {assign} FROM {source} WHERE {match} {where} RETURNING {back}"


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a DuckDB file."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def display(location: str | os.PathLike[str]) -> str:
    """``location`` for messages: a URL without its password."""
    text = str(location)
    if not is_url(text) or "@" not in text:
        return text
    scheme, rest = text.split("://", 1)
    auth, host = rest.rsplit("@", 1)
    return f"{scheme}://{auth.split(':', 1)[0]}@{host}"


def open_backend(
    location: str | os.PathLike[str],
    *,
    read_only: bool = False,
    retention_months: int | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Backend:
    """The backend for ``location`` (see the module's docstring), migrated unless ``read_only``."""
    if is_url(location):
        from printwatch.collector.storage.postgres import PostgresBackend

        return PostgresBackend(str(location), read_only=read_only, retention_months=retention_months, now=now)
    from printwatch.collector.storage.duck import DuckBackend

    return DuckBackend(location, read_only=read_only)


def location(text: str) -> str | Path:
    """A store location as the command line gives it (argparse's ``type``): a URL stays text,
    anything else is a path."""
    return text if is_url(text) else Path(text)


def exists(where: str | os.PathLike[str]) -> bool:
    """Whether there is a store at ``where`` to read (a database: its server will say)."""
    return is_url(where) or Path(where).exists()

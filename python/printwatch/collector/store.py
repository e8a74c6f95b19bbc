"""The collector's store: sites and their keys, devices, messages, reads, triggers.

One :class:`CollectorStore` over one of two backends (:mod:`printwatch.collector.storage`): a
DuckDB file (a path: one process writes it, the collector server) or a PostgreSQL database (a
``postgresql://`` URL: several front ends and the MSP's commands at once). Every call that
writes is one transaction. ``counter_reads`` keeps the named counters of billing reads,
``meter_names`` the MSP's ERP names of meters and counters (see
:mod:`printwatch.collector.meternames`). ``messages`` keeps each accepted message's payload
(JSON) with its sequence number, so the order and the exactly-once delivery can be checked with
plain SQL.

Error handling: a store from a newer printwatch, a file that is not a DuckDB store or a database
that cannot be reached raises :class:`CollectorStoreError` naming the location.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from printwatch.collector.storage import Backend, CollectorStoreError, Connection, display, open_backend
from printwatch.collector.storage.duck import MIGRATIONS

__all__ = ["MIGRATIONS", "CollectorStore", "CollectorStoreError"]


class CollectorStore:
    """The collector's connection to its store, whichever the backend."""

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        read_only: bool = False,
        retention_months: int | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.path = location
        self.backend: Backend = open_backend(
            location, read_only=read_only, retention_months=retention_months, now=now
        )

    @property
    def con(self) -> Any:
        """The connection for reads and single statements (``?`` placeholders on both)."""
        return self.backend.con

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    @property
    def data_errors(self) -> tuple[type[BaseException], ...]:
        return self.backend.data_errors

    @property
    def row_lock(self) -> str:
        return self.backend.row_lock

    def transaction(self) -> AbstractContextManager[Any]:
        """One transaction on the store's connection: committed, or rolled back on any exception."""
        return self.backend.transaction()

    def bulk(
        self,
        con: Connection,
        table: str,
        columns: list[str],
        rows: list[tuple[Any, ...]],
        *,
        replace: bool = False,
    ) -> None:
        """Insert ``rows`` in one statement (``replace``: rows with the same primary key are
        replaced). Nothing happens for no rows."""
        if rows:
            self.backend.bulk(con, table, columns, rows, replace=replace)

    def update(
        self,
        con: Connection,
        table: str,
        key: list[str],
        columns: list[str],
        rows: list[tuple[Any, ...]],
        assign: str,
        where: str = "",
    ) -> list[tuple[Any, ...]]:
        """Update the rows of ``table`` named by ``rows`` (of ``columns``, among them every
        column of ``key``) in one statement: ``assign`` is the ``SET`` list, where ``v.column``
        is a row's value and ``table.column`` the stored one; ``where`` more conditions
        (``AND ...``) on the stored row. Returns the keys of the rows updated; nothing happens
        for no rows. The SQL parts are the caller's text, never a value from outside."""
        if not rows:
            return []
        return self.backend.update(con, table, key, columns, rows, assign, where)

    def renew(self) -> None:
        """``collector serve`` does it daily: on DuckDB closes the database and opens it again
        (frees what DuckDB keeps from every hash join); on PostgreSQL opens a fresh connection,
        makes the coming months' partitions and drops those past the retention. The caller keeps
        every other use of the store away meanwhile (the server's one database thread).

        Error handling: :class:`CollectorStoreError` naming the store if it cannot be opened again.
        """
        self.backend.renew()

    def close(self) -> None:
        self.backend.close()

    def __str__(self) -> str:
        return display(self.path)

    def __enter__(self) -> CollectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

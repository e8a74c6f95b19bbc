"""One DuckDB transaction around a block: the store's, the collector's, the uplink's and the
alerts' writes that must land together or not at all.

Error handling: anything raised inside the block (``BaseException``, so a Trio cancellation
too) rolls the transaction back and is re-raised unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` on ``con``, yield it, ``COMMIT``; ``ROLLBACK`` and re-raise on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

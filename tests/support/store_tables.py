"""Every table of a store's file with its rows, for tests that compare two stores whole."""

from __future__ import annotations

from typing import Any

import duckdb


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the file (history, alerts, uplink) with its rows in order, but
    ``schema_version`` (when each file was made)."""
    tables = [
        str(t)
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "ORDER BY table_name"
        ).fetchall()
    ]
    kept = [t for t in tables if t != "schema_version"]
    return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in kept}

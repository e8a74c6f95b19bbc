"""``printwatch sql`` and ``printwatch export``: the history store for people and other tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TextIO

from printwatch.cli.reading import open_or_report
from printwatch.store.query import Format, export, render, run_query


def run_sql(query: str, *, store: Path, fmt: Format, out: TextIO | None = None) -> int:
    """Print the query's rows. Exit status 0, 1 for a bad query, 2 for a store that cannot be read."""
    con = open_or_report(store, "printwatch sql")
    if con is None:
        return 2
    try:
        columns, rows = run_query(con, query)
    except ValueError as err:
        print(f"printwatch sql: {err}", file=sys.stderr)
        return 1
    finally:
        con.close()
    (out or sys.stdout).write(render(columns, rows, fmt))
    return 0


def run_export(
    directory: Path, *, store: Path, fmt: Literal["parquet", "csv"], out: TextIO | None = None
) -> int:
    """Write the public views and event tables into DIR. Exit status 0, or 2 with the reason."""
    con = open_or_report(store, "printwatch export")
    if con is None:
        return 2
    try:
        files = export(con, directory, fmt)
    except OSError as err:
        print(f"printwatch export: {err}", file=sys.stderr)
        return 2
    finally:
        con.close()
    for f in files:
        print(f, file=out or sys.stdout)
    return 0

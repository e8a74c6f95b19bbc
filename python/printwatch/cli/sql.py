"""``printwatch sql`` and ``printwatch export``: the history store for people and other tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TextIO

from printwatch.store.query import Format, export, open_for_reading, render, run_query
from printwatch.store.store import StoreError


def run_sql(query: str, *, store: Path, fmt: Format, out: TextIO | None = None) -> int:
    """Print the query's rows. Exit status 0, 1 for a bad query, 2 for a store that cannot be read."""
    try:
        con, note = open_for_reading(store)
    except StoreError as err:
        print(f"printwatch sql: {err}", file=sys.stderr)
        return 2
    if note:
        print(f"printwatch sql: {note}", file=sys.stderr)
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
    try:
        con, note = open_for_reading(store)
    except StoreError as err:
        print(f"printwatch export: {err}", file=sys.stderr)
        return 2
    if note:
        print(f"printwatch export: {note}", file=sys.stderr)
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

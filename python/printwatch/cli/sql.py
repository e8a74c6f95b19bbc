"""``printwatch sql``: a query against the history store, its rows as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from printwatch.cli.options import Subparsers, history_store
from printwatch.cli.reading import open_or_report
from printwatch.store.query import Format, default_store, render, run_query


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


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Run QUERY against the history store and print its rows. While the appliance "
        "writes the store, the latest snapshot it published is read (a note on stderr says so). "
        "Exit status 0, 1 for a bad query, 2 for a store that cannot be read.",
        parents=[history_store()],
    )
    parser.add_argument("query", metavar="QUERY", help="one SQL statement")
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table",
                        help="table (default), csv with a header, or json: one object per line")  # fmt: skip
    return parser


def run(args: argparse.Namespace) -> int:
    return run_sql(args.query, store=args.store or default_store(), fmt=args.format)

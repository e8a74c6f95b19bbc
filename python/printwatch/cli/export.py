"""``printwatch export``: the history's public views and event tables as Parquet or CSV files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal, TextIO

from printwatch.cli.options import Subparsers, history_store
from printwatch.cli.reading import open_or_report
from printwatch.store.query import default_store, export


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


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Write each public view and event table of the history store to DIR/NAME.FORMAT.",
        parents=[history_store()],
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="default parquet")
    return parser


def run(args: argparse.Namespace) -> int:
    return run_export(args.directory, store=args.store or default_store(), fmt=args.format)

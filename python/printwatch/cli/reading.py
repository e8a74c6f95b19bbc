"""The history store opened for a read-only command (``printwatch sql``, ``export``,
``uplink log``): the store itself, or its snapshot while the appliance holds it.

Error handling: a store that cannot be opened is reported on stderr as ``PROG: reason`` (the
reason names the path) and :func:`open_or_report` returns None; the caller exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from printwatch.store import StoreError
from printwatch.store.query import open_for_reading


def open_or_report(store: Path, prog: str, *, prefix_note: bool = True) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection to ``store``, or None after printing why not to stderr. The note of
    a snapshot read goes to stderr too, after ``PROG: `` when ``prefix_note``."""
    try:
        con, note = open_for_reading(store)
    except StoreError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return None
    if note:
        print(f"{prog}: {note}" if prefix_note else note, file=sys.stderr)
    return con

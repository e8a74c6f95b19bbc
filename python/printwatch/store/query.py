"""Reading the store from another process: ``printwatch sql`` and ``printwatch export``.

A process that is not the writer opens the file read-only; when the writer holds it (DuckDB then
refuses every other process), it reads the writer's latest snapshot instead and says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from printwatch.store.store import DUCKDB_CONFIG, SNAPSHOT_SUFFIX, StoreError, StoreLockedError
from printwatch.store.views import PUBLIC_VIEWS

Format = Literal["table", "csv", "json"]
EXPORTED = (*PUBLIC_VIEWS, "meter_events", "supply_events", "status_changes", "registry_events")


def default_store() -> Path:
    """``PRINTWATCH_STORE``, else ``printwatch.duckdb`` in the working directory."""
    return Path(os.environ.get("PRINTWATCH_STORE") or "printwatch.duckdb")


def open_for_reading(
    path: str | os.PathLike[str], *, snapshot: bool = True
) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A read-only connection to the store, or to its snapshot while a writer holds it.

    Returns the connection and a note (None when the store itself was opened). Error handling:
    a missing file raises :class:`StoreError`; a held file without a snapshot raises
    :class:`StoreLockedError`; both name the path.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no store at {path} (give --store PATH or set PRINTWATCH_STORE)")
    try:
        return duckdb.connect(str(path), read_only=True, config=DUCKDB_CONFIG), None
    except duckdb.IOException as err:
        if "lock" not in str(err).lower():
            raise StoreError(f"store {path}: {err}") from err
        held = str(err).split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0].strip()
        snap = path.with_name(path.name + SNAPSHOT_SUFFIX)
        if not snapshot or not snap.exists():
            raise StoreLockedError(
                f"store {path} is held by another process ({held}) and it has published no snapshot"
            ) from err
        taken = datetime.fromtimestamp(snap.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            con = duckdb.connect(str(snap), read_only=True, config=DUCKDB_CONFIG)
        except duckdb.Error as err2:
            raise StoreError(f"store snapshot {snap}: {err2}") from err2
        return con, f"store {path} is held by the writer ({held}); reading its snapshot of {taken}"
    except duckdb.Error as err:
        raise StoreError(f"store {path}: {err}") from err


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: Format) -> str:
    """Rows as an aligned table, CSV (header first) or JSON (one object per line)."""
    if fmt == "json":
        return "".join(json.dumps(dict(zip(columns, map(_jsonable, r), strict=True))) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in r] for r in rows])
        return buf.getvalue()
    cells = [[_text(v) for v in r] for r in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one query; its column names and rows. Errors are DuckDB's, re-raised as ValueError."""
    try:
        cur = con.execute(sql)
    except duckdb.Error as err:
        raise ValueError(str(err)) from err
    columns = [d[0] for d in cur.description or []]
    return columns, cur.fetchall() if columns else []


def export(con: duckdb.DuckDBPyConnection, directory: Path, fmt: Literal["parquet", "csv"]) -> list[Path]:
    """Write each public view and event table to ``DIR/<name>.<fmt>``; returns the files.

    Error handling: a directory that cannot be created or written raises :class:`OSError`
    naming it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in EXPORTED:
        target = directory / f"{name}.{fmt}"
        options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
        quoted = str(target).replace("'", "''")
        try:
            con.execute(f"COPY (SELECT * FROM {name}) TO '{quoted}' ({options})")
        except duckdb.IOException as err:
            raise OSError(f"export to {target}: {err}") from err
        written.append(target)
    return written

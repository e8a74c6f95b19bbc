"""The history store bench: a year of five-minute history for a fleet, in DuckDB and in SQLite.

    python bench/store_year.py --printers 10000 --days 365      # the full run (long: see docs/benchmarks.md)
    python bench/store_year.py --printers 200 --days 20         # a quick look

Generates the history inside DuckDB with SQL (``bench/store_history.py``, the simulator's
dynamics), copies the same rows into SQLite (``bench/store_sqlite.py``), then measures, for both
in the same run: the size on disk; ingesting one cycle of the whole fleet (the store's own rules,
the next cycles of the same model; median of ``--cycles``); ``supply_forecast`` over the whole
fleet (median of 5); a device page's queries (median over ``--devices`` devices). It prints each
figure, the budget, and the SQLite/DuckDB ratio, and writes them as JSON (``--results``).
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

try:
    from bench import store_history, store_sqlite
except ImportError:  # run as a script: put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import store_history, store_sqlite

from printwatch.store import Store

COUNTED = ["supply_levels", "supply_levels_days", "supply_levels_recent", "meter_reads", "meter_reads_days",
           "meter_reads_recent", "status_changes", "supply_events", "supplies", "meter_sources",
           "pages_daily"]  # fmt: skip
BUDGETS = {"size_bytes": 2e9, "ingest_s": 2.0, "forecast_s": 1.0, "device_page_s": 0.1}

# The queries of one device's page: the device, its forecasts, 30 days of supply levels and
# meters (with evidence), 90 days of pages, 30 days of status changes. `?` = device, since.
PAGE_DUCKDB = [
    ("SELECT * FROM devices WHERE device_id = ?", 0),
    ("SELECT * FROM supply_forecast WHERE device_id = ?", 0),
    ("SELECT supply_index, time, percent FROM supply_history WHERE device_id = ? AND time >= ?::TIMESTAMP_S "
     "ORDER BY supply_index, time", 30),
    ("SELECT meter, time, value, oid, raw, rule FROM meter_history WHERE device_id = ? "
     "AND time >= ?::TIMESTAMP_S ORDER BY meter, time", 30),
    ("SELECT day, pages FROM pages_per_day WHERE device_id = ? AND day >= ? ORDER BY day", 90),
    ("SELECT * FROM status_changes WHERE device_id = ? AND time >= ? ORDER BY time", 30),
]  # fmt: skip
PAGE_SQLITE = [
    ("SELECT * FROM devices WHERE device_id = ?", 0),
    ("SELECT * FROM supply_forecast WHERE device_id = ?", 0),
    ("SELECT supply_index, time, percent FROM supply_history WHERE device_id = ? AND time >= ? "
     "ORDER BY supply_index, time", 30),
    ("SELECT meter, time, value, oid, raw, rule FROM meter_history WHERE device_id = ? AND time >= ? "
     "ORDER BY meter, time", 30),
    ("SELECT day, pages FROM pages_per_day WHERE device_id = ? AND day >= date(?, 'unixepoch') "
     "ORDER BY day", 90),
    ("SELECT * FROM status_changes WHERE device_id = ? AND time >= ? ORDER BY time", 30),
]  # fmt: skip


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name))


def page(
    con: Any, queries: list[tuple[str, int]], device_id: int, end: Any, as_epoch: bool
) -> tuple[float, int]:
    started = time.perf_counter()
    n = 0
    for sql, days in queries:
        params: list[Any] = [device_id]
        if days:
            since = end - timedelta(days=days)
            params.append(calendar.timegm(since.timetuple()) if as_epoch else since)
        n += len(con.execute(sql, params).fetchall())
    return time.perf_counter() - started, n


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def run(printers: int, days: int, workdir: Path, cycles: int = 3, devices: int = 10, sqlite: bool = True,
        log: Any = print, history: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Generate, load and measure; returns the figures (see the module's docstring)."""
    duck_path, lite_path = workdir / "history.duckdb", workdir / "history.sqlite"
    started = time.perf_counter()
    if history is not None:  # a history generated before, for these printers and days
        shutil.copyfile(history, duck_path)
        con = duckdb.connect(str(duck_path), read_only=True)
        counts = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}  # type: ignore[index]
        con.close()
    else:
        Store(duck_path).close()
        con = duckdb.connect(str(duck_path))
        counts = store_history.generate(con, printers, days)
        con.close()
    out: dict[str, Any] = {"printers": printers, "days": days, "rows": counts,
                           "generate_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    if history is not None:
        out["history"] = str(history)
        del out["generate_s"]
    out["duckdb"] = {"size_bytes": file_bytes(duck_path)}
    log(f"history of {days} days for {printers} printers ({out.get('generate_s', 'copied')} s): {counts}")
    if sqlite:
        con = duckdb.connect(str(duck_path), read_only=True)
        out["sqlite_load_s"] = round(store_sqlite.load(con, lite_path), 1)
        con.close()
        out["sqlite"] = {"size_bytes": file_bytes(lite_path)}
        log(f"loaded SQLite in {out['sqlite_load_s']} s")
    docs = [store_history.cycle_docs(printers, days, c) for c in range(1, cycles + 1)]
    end = store_history.START + timedelta(days=days)
    ids = [1 + (i * printers) // devices for i in range(devices)]

    with Store(duck_path) as store:
        results = [store.ingest(d) for d in docs]
        assert all(r.error is None and r.devices == printers for r in results), results[0]
        out["duckdb"]["ingest_s"] = statistics.median(r.seconds for r in results)
        out["duckdb"]["ingest_rows"] = [r.supply_rows + r.meter_rows for r in results]
        reader = store.reader()
        out["duckdb"]["forecast_s"], rows = timed(
            lambda: reader.execute("SELECT * FROM supply_forecast").fetchall(), 5
        )
        out["duckdb"]["forecast_rows"] = len(rows)
        out["duckdb"]["forecast_dated"] = sum(1 for r in rows if r[-1] is not None)
        backwards = reader.execute("SELECT count(*) FROM meter_events WHERE kind = 'backwards'").fetchone()
        out["duckdb"]["backwards_events"] = backwards[0] if backwards else None
        page(reader, PAGE_DUCKDB, ids[-1], end, as_epoch=False)  # warm-up: a long-running process
        pages = [page(reader, PAGE_DUCKDB, i, end, as_epoch=False) for i in ids]
        out["duckdb"]["device_page_s"] = statistics.median(p[0] for p in pages)
        out["duckdb"]["device_page_rows"] = statistics.median(p[1] for p in pages)
    if sqlite:
        lite = store_sqlite.SqliteStore(lite_path)
        out["sqlite"]["ingest_s"] = statistics.median(lite.ingest(d) for d in docs)
        out["sqlite"]["forecast_s"], rows = timed(
            lambda: lite.con.execute("SELECT * FROM supply_forecast").fetchall(), 5
        )
        out["sqlite"]["forecast_rows"] = len(rows)
        page(lite.con, PAGE_SQLITE, ids[-1], end, as_epoch=True)
        pages = [page(lite.con, PAGE_SQLITE, i, end, as_epoch=True) for i in ids]
        out["sqlite"]["device_page_s"] = statistics.median(p[0] for p in pages)
        out["sqlite"]["device_page_rows"] = statistics.median(p[1] for p in pages)
        lite.close()
        out["duckdb"]["size_bytes_after_ingest"] = file_bytes(duck_path)
        out["ratios_sqlite_over_duckdb"] = {
            k: round(out["sqlite"][k] / out["duckdb"][k], 2) for k in BUDGETS if out["duckdb"][k]
        }
    return out


def report(out: dict[str, Any]) -> str:
    lines = [f"history store: {out['printers']} printers, {out['days']} days"]
    lines.append(f"{'':16s}{'duckdb':>14s}{'sqlite':>14s}{'sqlite/duckdb':>15s}{'budget':>12s}")
    for key, budget in BUDGETS.items():
        d = out["duckdb"][key]
        s = out.get("sqlite", {}).get(key)
        ratio = out.get("ratios_sqlite_over_duckdb", {}).get(key)
        fmt = (lambda v: f"{v / 1e6:,.0f} MB") if key == "size_bytes" else (lambda v: f"{v * 1000:,.1f} ms")
        lines.append(
            f"{key:16s}{fmt(d):>14s}{fmt(s) if s is not None else '-':>14s}"
            f"{(f'{ratio}x' if ratio is not None else '-'):>15s}{fmt(budget):>12s}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--printers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cycles", type=int, default=3, help="ingested cycles (median), default 3")
    parser.add_argument("--devices", type=int, default=10, help="device pages (median), default 10")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    parser.add_argument("--workdir", type=Path, default=None, help="where the files go (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=None, help="write the figures here as JSON")
    parser.add_argument("--history", type=Path, default=None,
                        help="a DuckDB history generated before for the same --printers/--days "
                        "(copied, then measured), instead of generating one")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="store-bench-") as tmp:
        out = run(
            args.printers, args.days, Path(tmp), args.cycles, args.devices, args.sqlite, history=args.history
        )
    print(report(out))
    if args.results:
        args.results.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

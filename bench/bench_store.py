"""Smoke test of the history store bench (``bench/store_year.py``), bounded for ``make test``:
100 printers, 35 days (a closed month, this month's days and today: every tier of the store),
DuckDB and SQLite side by side. The full run (10,000 printers, a year) is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from bench import store_year
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import store_year


def test_store_bench_runs_both_engines_on_the_same_history(tmp_path: Path) -> None:
    out = store_year.run(100, 35, tmp_path, cycles=2, devices=3, log=lambda _: None)
    rows = out["rows"]
    assert rows["supply_levels"] and rows["supply_levels_days"] and rows["supply_levels_recent"]
    assert rows["meter_reads"] and rows["meter_reads_days"] and rows["meter_reads_recent"]
    duck, lite = out["duckdb"], out["sqlite"]
    # The next cycles continue the generated history: no meter goes backwards.
    assert duck["backwards_events"] == 0
    assert duck["forecast_rows"] == lite["forecast_rows"] == rows["supplies"]
    assert 0 < duck["forecast_dated"] <= duck["forecast_rows"]
    assert duck["device_page_rows"] == lite["device_page_rows"] > 0
    assert set(out["ratios_sqlite_over_duckdb"]) == set(store_year.BUDGETS)
    assert "sqlite/duckdb" in store_year.report(out)

"""Smoke test of the collector's ingest bench (``bench/collector_ingest.py``), bounded for
``make test``: 3 sites of 5 printers, their day made by the appliance's uplink, sent over HTTPS
to real ``collector serve`` processes: one on DuckDB, one and two on a real PostgreSQL. The full
run (100, 1,000 and 10,000 sites of 200 printers) is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from bench import collector_ingest
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import collector_ingest


def test_a_small_day_reaches_every_store_once_and_is_measured(tmp_path: Path) -> None:
    out = collector_ingest.run(
        [3],
        5,
        front_ends=(1, 2),
        sample_s=120.0,
        concurrency_per_front_end=2,
        cache=tmp_path,
        log=lambda _: None,
    )
    days = collector_ingest.make_traffic(3, 5, cache=tmp_path, log=lambda _: None)
    messages = sum(len(d.envelopes) for d in days)
    kinds = {k for d in days for k in d.kinds}
    assert {"register", "aggregate", "billing", "sync", "snapshot"} <= kinds
    assert [(r["backend"], r["front_ends"]) for r in out["runs"]] == [
        ("duckdb", 1),
        ("postgres", 1),
        ("postgres", 2),
    ]
    for r in out["runs"]:
        # Every message answered 200 once and stored once; nothing left out of the day.
        assert not r["sample"] and r["sites_sent"] == 3
        assert r["messages"] == r["stored_messages"] == messages
        assert r["device_rows"] == sum(sum(d.rows) for d in days) > 0
        assert 0 < r["p50_ms"] <= r["p99_ms"]
        # A kept connection per upload turn, as the appliance's sender (each refusal: a new one).
        turns = sum(len(collector_ingest.turns(d.kinds)) for d in days)
        assert r["connection_per"] == "turn" and turns <= r["connections"] <= turns + r["retries"]
        assert all(c > 0 for c in r["front_end_cpu_s"]) and all(m > 20 for m in r["front_end_peak_rss_mb"])
        assert (r["postgres_cpu_s"] or 0) > 0 if r["backend"] == "postgres" else r["postgres_cpu_s"] is None
    assert "collector-ingest" not in collector_ingest.summary(out["runs"][0])

"""Smoke test of the alerts bench (``bench/alerts_cycle.py``), bounded for ``make test``: 300
printers, 7 cycles. The full run (10,000 printers) is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from bench import alerts_cycle
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import alerts_cycle


def test_alerts_bench_opens_and_closes_alerts_beside_the_write(tmp_path: Path) -> None:
    out = alerts_cycle.run(300, 7, tmp_path, log=lambda _: None)
    # Low supplies (1 in 10), flapping faults, printers away for four cycles (1 in 30).
    assert out["opened"] > 30 and out["closed"] > 0
    assert out["notifications_queued"] == out["opened"] + out["closed"]
    assert out["alerts_over_write"] > 0
    assert "alerts/write" in alerts_cycle.report(out)

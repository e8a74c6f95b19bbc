"""Smoke test of the SNMPv3 bench (``bench/v3_cycle.py``), bounded for ``make test``: one run of
printwatch v2c and v3 (authPriv) on 30 simulated printers and pysnmp v2c and v3 on 10; every
printer's result must be complete either way, and the ratios are printed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    from bench import v3_cycle
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import v3_cycle


def test_v3_bench_runs_complete_and_prints_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    status = v3_cycle.main(["--printers", "30", "--pysnmp-printers", "10", "--repeats", "1", "--no-json"])
    out = capsys.readouterr().out
    assert status == 0, out
    for label in ("printwatch v2c", "printwatch v3", "pysnmp v2c", "pysnmp v3"):
        assert label in out
    assert "INCOMPLETE" not in out and "FAILED" not in out, out
    for name in ("printwatch v3 / printwatch v2c", "pysnmp v3 / printwatch v3", "pysnmp v3 / pysnmp v2c"):
        assert name in out, out

"""Smoke test of the store's steady-cycle bench (``bench/store_steady.py``), bounded for ``make
test``: 200 printers, 3 cycles. The figures at 10,000 are in docs/benchmarks.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

try:
    from bench import store_steady
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import store_steady


def test_the_third_cycle_finds_every_printer_settled(capsys: pytest.CaptureFixture[str]) -> None:
    assert store_steady.main(["--printers", "200", "--cycles", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    hits = [int(m[1]) for line in lines if (m := re.search(r"settled hits (\d+)", line))]
    # The first cycle registers, the second settles, the third is the steady one measured.
    assert hits == [0, 0, 200], lines
    assert re.search(r"median CPU \d+\.\d+ s for 200 printers", lines[-1]), lines

"""Smoke test of the discovery bench (``bench/discovery.py``), bounded for ``make test``: a /24
with 36 simulated printers, one repeat of every run (printwatch's discovery in both modes, its
ICMP sweep alone, and fping); both discoveries must find every printer with its serial and
nothing else, and both ICMP sweeps every address (the kernel answers for all of loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_discovery_bench_runs_and_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "discovery.py"),
        "--network",
        "127.42.0.0/24",
        "--printers",
        "36",
    ]
    cmd += ["--repeats", "1", "--timeout", "0.5", "--out", str(out)]
    r = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False
    )
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(out.read_text())
    runs = doc["runs"]
    for name in ("discover-snmp", "discover-icmp"):
        (run,) = runs[name]
        assert run["complete"], run
        assert run["printers"] == 36 and run["with_serial"] > 0
        assert run["beyond_probe_bytes_per_printer"] <= 120, run
    if "skipped" in runs["icmp-printwatch"][0]:
        pytest.skip(runs["icmp-printwatch"][0]["skipped"])
    assert runs["icmp-printwatch"][0]["alive"] == 254
    assert runs["icmp-fping"][0]["alive"] == 254
    assert doc["ratios_fping_over_printwatch_icmp"]["bytes_sent"] == 4.0

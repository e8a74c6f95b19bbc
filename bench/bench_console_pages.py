"""Smoke test of the console bench (``bench/console_pages.py``), bounded for ``make test``: 3
sites x 10 printers with 3 days of history, made by the uplink and received by the collector's
ingest on a real PostgreSQL, every page asked twice of a real ``collector serve`` as the admin and
as a customer. The figures at 100 sites x 100 printers are in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

try:
    from bench import console_pages
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import console_pages


@pytest.mark.real
@pytest.mark.realtime
def test_the_bench_times_every_page_for_the_admin_and_a_customer() -> None:
    args = argparse.Namespace(
        sites=3,
        printers=10,
        days=3,
        backend="postgres",
        repeats=2,
        screenshots=None,
        json=None,
        timeout_s=60.0,
        cache=None,
    )
    result = console_pages.run(args, lambda line: None)
    assert result["devices"] == 30 and result["messages"] > 3 * 3
    admin, customer = result["pages"]["admin"], result["pages"]["acme"]
    paths = {r["path"] for r in admin}
    assert {"/console/sites", "/console/devices.csv", "/console/sites/site-00002"} <= paths, paths
    assert all(r["p50_ms"] > 0 and r["bytes"] > 0 for r in admin + customer)
    # the customer's lists are its one site's: smaller than the admin's
    sizes = {r["path"]: r["bytes"] for r in admin}
    assert all(r["bytes"] < sizes[r["path"]] for r in customer if r["path"].endswith("sites.json"))

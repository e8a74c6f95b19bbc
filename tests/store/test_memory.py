"""The store's memory limit: DuckDB's whole instance in the writer's process keeps to
``memory_limit_mb`` (``[appliance] store_memory_mb``), and work bigger than it spills to disk
instead of failing or growing the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from printwatch.store import Store
from printwatch.store.store import DUCKDB_CONFIG

from tests.store.docs import T0, doc


def limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    number, unit = str(row[0]).split()
    return int(float(number) * {"MiB": 2**20, "GiB": 2**30, "MB": 10**6, "GB": 10**9}[unit])


def test_the_limit_holds_for_every_connection_of_the_process_and_after_a_reconnect(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path, memory_limit_mb=96) as store:
        assert abs(limit_bytes(store.con) - 96 * 10**6) < 2**20
        # The uplink's outbox opens its own connection to the same file in this process.
        other = duckdb.connect(str(path), config=DUCKDB_CONFIG)
        assert limit_bytes(other) == limit_bytes(store.con)
        other.close()
        store._recover()  # what a failed write does: a fresh connection
        assert abs(limit_bytes(store.con) - 96 * 10**6) < 2**20
        store.ingest([doc("10.0.0.1", T0)])
    # Without a limit, DuckDB's default (80% of the machine) is left alone.
    with Store(path) as store:
        assert limit_bytes(store.con) > 96 * 10**6


CHILD = """
import resource, sys
from printwatch.store import Store
limit = int(sys.argv[2]) or None
with Store(sys.argv[1], memory_limit_mb=limit) as store:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row = store.con.execute(
        "SELECT count(*) FROM (SELECT i, hash(i) AS r FROM range(20000000) t(i) ORDER BY r)"
    ).fetchone()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print()
print(row[0], (after - before) // 1024)
"""


def peak_growth_mb(path: Path, limit_mb: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(limit_mb)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    rows, growth_mb = out.stdout.splitlines()[-1].split()
    assert rows == "20000000"
    return int(growth_mb)


def test_work_bigger_than_the_limit_spills_to_disk_and_completes(tmp_path: Path) -> None:
    # Sorting 20 million rows takes a few hundred MB unbounded; with 64 MB it spills to
    # PATH.tmp and still completes, the process's peak growing by about the limit.
    unbounded = peak_growth_mb(tmp_path / "a.duckdb", 0)
    bounded = peak_growth_mb(tmp_path / "b.duckdb", 64)
    assert unbounded > 200, unbounded
    assert bounded < 64 + 48, (bounded, unbounded)

"""The store's memory limit: DuckDB's whole instance in the writer's process keeps to
``memory_limit_mb`` (``[appliance] store_memory_mb``), and work bigger than it spills to disk
instead of failing or growing the process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
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


# The peak is read from VmHWM, this process's own: ru_maxrss would carry over the parent's
# peak through fork and exec (a pytest process that grew past the query's peak hid it).
CHILD = """
import sys
from printwatch.store import Store

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

limit = int(sys.argv[2]) or None
with Store(sys.argv[1], memory_limit_mb=limit) as store:
    before = hwm_kb()
    row = store.con.execute(
        "SELECT count(*) FROM (SELECT i, hash(i) AS r FROM range(20000000) t(i) ORDER BY r)"
    ).fetchone()
    after = hwm_kb()
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


@pytest.mark.realtime
def test_work_bigger_than_the_limit_spills_to_disk_and_completes(tmp_path: Path) -> None:
    # Sorting 20 million rows takes a few hundred MB unbounded; with 64 MB it spills to
    # PATH.tmp and still completes, the process's peak growing by about the limit.
    unbounded = peak_growth_mb(tmp_path / "a.duckdb", 0)
    bounded = peak_growth_mb(tmp_path / "b.duckdb", 64)
    assert bounded < 64 + 48 and unbounded > 2 * bounded, (bounded, unbounded)


# DuckDB keeps some memory from every query that builds a hash join for as long as the
# database is open in the process; the store's renewal closes it (every connection of the
# process to the file) and opens it again. Measured with glibc's own count of bytes in use, in
# a child process of its own (nothing else allocating meanwhile).
GROWTH = """
import ctypes, json, sys
from datetime import timedelta
import duckdb
import pytest
from printwatch.store import Store
from printwatch.store.store import DUCKDB_CONFIG
from tests.store.docs import T0, doc

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2

def in_use_mb():
    m = libc.mallinfo2()
    return (m.uordblks + m.hblkhd) / 1e6

class Other:  # another connection of the process to the file, like the uplink's outbox
    def __init__(self, path):
        self.path = path
        self.con = duckdb.connect(path, config=DUCKDB_CONFIG)
    def close(self):
        self.con.close()
    def reopen(self):
        self.con = duckdb.connect(self.path, config=DUCKDB_CONFIG)

path, with_other = sys.argv[1], sys.argv[2] == "1"
store = Store(path, meter_interval_s=0)
store.ingest([doc(f"10.0.{i // 250}.{i % 250 + 1}", T0, serial=f"S{i}") for i in range(2000)])
other = Other(path)
for n in range(50):
    with store.reading() as con:
        con.execute("SELECT count(*) FROM devices d JOIN device_state s USING (device_id)").fetchall()
base = in_use_mb()
for n in range(1500):
    with store.reading() as con:
        con.execute("SELECT count(*) FROM devices d JOIN device_state s USING (device_id)").fetchall()
grown = in_use_mb()
assert store.renew([other] if with_other else [])
other.con.execute("SELECT count(*) FROM devices").fetchall()  # the companion works again
store.ingest([doc("10.0.0.1", T0 + timedelta(minutes=5), serial="S0", total=1100)])
after = in_use_mb()
print(json.dumps({"base": base, "grown": grown, "after": after}))
"""


def growth(path: Path, *, with_other: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", GROWTH, str(path), "1" if with_other else "0"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    figures: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return figures


@pytest.mark.realtime
def test_renewal_frees_what_duckdb_keeps_while_the_database_is_open(tmp_path: Path) -> None:
    renewed = growth(tmp_path / "a.duckdb", with_other=True)
    # 1,500 joins leave megabytes behind while the database stays open ...
    assert renewed["grown"] - renewed["base"] > 2.0, renewed
    # ... and closing every connection of the process frees them.
    assert renewed["after"] - renewed["base"] < 0.25 * (renewed["grown"] - renewed["base"]), renewed
    # A connection left open (a companion not closed) keeps the database, and the memory.
    kept = growth(tmp_path / "b.duckdb", with_other=False)
    assert kept["after"] - kept["base"] > 0.75 * (kept["grown"] - kept["base"]), kept


@pytest.mark.faketime_unsafe  # its readers wait on events with timeouts: libfaketime hangs them
def test_renewal_waits_for_readers_and_new_readers_wait_for_it(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0) as store:
        store.ingest([doc("10.0.0.1", T0)])
        inside, release = threading.Event(), threading.Event()
        seen: list[object] = []

        def slow_reader() -> None:
            with store.reading() as con:
                inside.set()
                release.wait(10)
                seen.append(con.execute("SELECT count(*) FROM devices").fetchone())

        reader = threading.Thread(target=slow_reader)
        reader.start()
        assert inside.wait(10)
        # A reader that does not finish in time: nothing is closed, and it reads on.
        assert store.renew(wait_s=0.2) is False and store.renewals == 0
        release.set()
        reader.join(10)
        assert seen == [(1,)]
        # One that finishes while renew waits: renew goes on after it.
        inside.clear()
        release.clear()
        reader = threading.Thread(target=slow_reader)
        reader.start()
        assert inside.wait(10)
        threading.Timer(0.2, release.set).start()
        assert store.renew(wait_s=10) is True and store.renewals == 1
        reader.join(10)
        assert seen == [(1,), (1,)]
        with store.reading() as con:
            assert con.execute("SELECT count(*) FROM devices").fetchone() == (1,)

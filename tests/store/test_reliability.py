"""The writer killed with SIGKILL mid-ingestion, and writes refused by the file system (EFBIG)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from printwatch.store import Store, StoreLockedError
from printwatch.store.query import open_for_reading

from tests.store.writer_child import FLEET

ROOT = Path(__file__).resolve().parents[2]


def child(mode: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer_child", mode, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.realtime
@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.15])
def test_kill_9_mid_ingestion_loses_at_most_the_batch_in_flight(tmp_path: Path, delay_s: float) -> None:
    path = tmp_path / "s.duckdb"
    proc = child("kill", path)
    assert proc.stdout is not None
    committed = -1
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            word, k = line.split()
            if word == "committed":
                committed = int(k)
            elif word == "writing" and int(k) == 3:
                time.sleep(delay_s)  # somewhere inside cycle 3's ingestion
                break
            assert time.monotonic() < deadline, "the writer is too slow"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL and committed == 2
    with Store(path) as store:  # opens cleanly, replaying the write-ahead log
        per_cycle = (
            store.reader()
            .execute(
                "SELECT time, count(*), count(DISTINCT device_id) FROM meter_history "
                "GROUP BY time ORDER BY time"
            )
            .fetchall()
        )
        devices = store.reader().execute("SELECT count(*) FROM devices").fetchone()
        # Every cycle that is there is whole: all of it or none of it.
        assert len(per_cycle) in (3, 4)
        assert all(n == FLEET and d == FLEET for _, n, d in per_cycle)
        assert devices == (FLEET,)
        # ... and the writer goes on where it stopped.
        from tests.store.writer_child import cycle

        assert store.ingest(cycle(len(per_cycle))).error is None


def test_a_full_disk_is_a_clear_error_and_the_write_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    proc = child("fsize", path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    steps = [json.loads(line) for line in out.splitlines()]
    assert [s["step"] for s in steps] == ["unlimited", "limited", "limited", "lifted"]
    assert steps[0] == {"step": "unlimited", "written": 1, "error": None}
    for n, step in enumerate(steps[1:3], start=1):
        assert step["written"] == 0 and step["pending"] == n
        assert "write failed, will retry" in step["error"] and "File too large" in step["error"]
        assert str(path) in step["error"]
    assert steps[3] == {"step": "lifted", "written": 3, "pending": 0, "error": None}
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(DISTINCT time), count(*) FROM meter_history").fetchone() == (4, 2000)
    con.close()


def test_readers_in_other_processes_read_the_snapshot_while_the_writer_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    from tests.store.writer_child import cycle

    with Store(path, meter_interval_s=0) as store:
        store.ingest(cycle(0, 50))
        with pytest.raises(StoreLockedError, match="held by another"):
            subprocess_open(path, snapshot=False)
        store.publish_snapshot()
        # Publishing must not drop the writer's lock (a file copy in this process would).
        with pytest.raises(StoreLockedError, match="held by another"):
            subprocess_open(path, snapshot=False)
        store.ingest(cycle(1, 50))
        # In the writer's process, a reader cursor sees every commit at once.
        assert store.reader().execute("SELECT count(DISTINCT time) FROM meter_history").fetchone() == (2,)
        out = subprocess.run(
            [sys.executable, "-m", "printwatch.cli", "sql", "--store", str(path), "--format", "csv",
             "SELECT count(DISTINCT time) AS cycles FROM meter_history"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        assert out.stdout.splitlines() == ["cycles", "1"]
        assert "snapshot" in out.stderr and "held by" in out.stderr
    # Writer gone: the store itself is read.
    con, note = open_for_reading(path)
    assert note is None and con.execute("SELECT count(DISTINCT time) FROM meter_history").fetchone() == (2,)
    con.close()


def subprocess_open(path: Path, snapshot: bool) -> None:
    """Open the store from another process (the lock is per process); re-raise its error here."""
    code = (
        "import sys; from printwatch.store.query import open_for_reading\n"
        "try:\n"
        f"    open_for_reading({str(path)!r}, snapshot={snapshot})\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e); sys.exit(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode == 3:
        raise StoreLockedError(out.stdout)

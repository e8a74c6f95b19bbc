"""`printwatch run`, `secret`, `assist` and `demo` as real subprocesses against the simulator:
SIGTERM finishes the write in hand and exits 0; a bad configuration exits 2 naming key and line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.sim import Simulator

from tests.support.ports import free_tcp_port
from tests.support.recordings import built_in_fleet

PRINTWATCH = [sys.executable, "-m", "printwatch.cli"]
COUNT = 20


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with built_in_fleet(count=COUNT, base="127.22.0.1", port=0) as s:
        yield s


def write_config(tmp_path: Path, sim: Simulator, web_port: int) -> Path:
    path = tmp_path / "printwatch.toml"
    path.write_text(
        f"""
[appliance]
state_dir = "{tmp_path / "state"}"

[snmp]
communities = ["secret:site_community"]
timeout_s = 0.5
retries = 1

[devices]
targets = ["{sim.first}-{sim.last}:{sim.port}"]

[intervals]
status_minutes = 1

[web]
port = {web_port}
"""
    )
    return path


def run_cli(*args: str, stdin: str = "", timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRINTWATCH, *args], input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def start_daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PRINTWATCH, "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_health(
    port: int, proc: subprocess.Popen[str], *, status_runs: int, timeout_s: float = 30
) -> dict:
    """/health once the status job has completed ``status_runs`` runs (and meters as many)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                health = json.load(r)
            jobs = health["jobs"]
            if jobs["status"]["runs"] >= status_runs and jobs["meters"]["runs"] >= status_runs:
                return dict(health)
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the status job did not complete {status_runs} runs in {timeout_s} s")


def store_rows(config: Path, sql: str) -> list[list[object]]:
    done = run_cli("sql", "--store", str(config.parent / "state" / "history.duckdb"), "--format", "json", sql)
    assert done.returncode == 0, done.stderr
    return [list(json.loads(line).values()) for line in done.stdout.splitlines()]


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


@pytest.mark.realtime
def test_run_with_a_secret_community_assist_then_sigterm_exits_0(tmp_path: Path, sim: Simulator) -> None:
    port = free_tcp_port()
    config = write_config(tmp_path, sim, port)
    # Without the secret the configuration is refused, naming the key and the line.
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 2
    assert (
        f"{config}:6: snmp.communities[0]: " in done.stderr
        and "no secret named 'site_community'" in done.stderr
    )
    done = run_cli("secret", "set", "site_community", "--config", str(config), stdin="public\n")
    assert done.returncode == 0, done.stderr
    assert os.stat(tmp_path / "state" / "secret.key").st_mode & 0o777 == 0o600
    assert b"public" not in (tmp_path / "state" / "secrets.json").read_bytes()
    assert run_cli("secret", "list", "--config", str(config)).stdout.split() == ["site_community"]

    proc = start_daemon(config)
    try:
        # First start: a status and a meters cycle, every printer answering.
        health = wait_for_health(port, proc, status_runs=1)
        assert health["devices"] == COUNT and health["answering"] == COUNT
        done = run_cli("assist", f"{sim.first}:{sim.port}", "--config", str(config))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["target"] == f"{sim.first}:{sim.port}"
        done = run_cli("assist", "10.77.0.1", "--config", str(config))
        assert done.returncode == 2 and "no such device" in done.stderr
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "SIGTERM: finishing the write in hand, then stopping" in err and "stopped (SIGTERM)" in err
    # The history: one device per printer (the store's registry), read once the writer is gone.
    [[devices]] = store_rows(config, "SELECT count(*) FROM devices")
    assert 0 < devices <= COUNT  # type: ignore[operator]
    state = json.loads((tmp_path / "state" / "scheduler.json").read_text())
    assert {"status", "meters", "upload", "billing", "discovery"} <= set(state)


@pytest.mark.realtime
def test_sigterm_during_the_first_cycle_exits_0_with_whole_cycles_only(
    tmp_path: Path, sim: Simulator
) -> None:
    done = run_cli(
        "secret",
        "set",
        "site_community",
        "--config",
        str(write_config(tmp_path, sim, free_tcp_port())),
        stdin="public",
    )
    assert done.returncode == 0
    proc = start_daemon(tmp_path / "printwatch.toml")
    assert proc.stderr is not None
    try:
        for line in proc.stderr:  # wait until it has started (its first cycles are then in flight)
            if f"printwatch run: {COUNT} devices" in line:
                break
    finally:
        code, err = stop(proc)
    assert code == 0, err
    # The store opens afterwards (a cycle is one transaction: all of it or none of it).
    [[devices]] = store_rows(tmp_path / "printwatch.toml", "SELECT count(*) FROM devices")
    assert devices == 0 or devices > COUNT // 2  # type: ignore[operator]


def test_a_config_with_problems_exits_2_listing_each(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[appliance]\nstate_dir = "{tmp_path}"\n\n[intervals]\nstatus_minutes = 0\nupload_times = ["7pm"]\n'
    )
    done = run_cli("run", "--config", str(path))
    assert done.returncode == 2
    assert f"{path}:5: intervals.status_minutes: 0 is out of range: 1 to 60 minutes" in done.stderr
    assert f"{path}:6: intervals.upload_times[0]: '7pm' is not a time of day (HH:MM)" in done.stderr


def test_assist_without_a_running_appliance_says_so() -> None:
    done = run_cli("assist", "10.0.0.1", "--url", f"http://127.0.0.1:{free_tcp_port()}")
    assert done.returncode == 1 and "cannot reach the appliance" in done.stderr


@pytest.mark.realtime
def test_demo_starts_polls_serves_and_stops_by_itself() -> None:
    # 16 s: a status cycle of the demo's printers takes up to 6 s (the first waits for the
    # discovery; the simulator loses and delays some answers, and each loss costs a 1 s
    # timeout and a retry), so a 2-second interval overruns and skips slots. 10 s gave
    # one cycle in about one run of four.
    # No history first (tests/cli/test_demo_history.py covers it): the real-time demo alone.
    args = ["--duration", "16", "--port", "0", "--count", "40", "--interval", "2", "--history-days", "0"]
    done = run_cli("demo", *args, timeout_s=90)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "simulated printers: 40 on 127.20.0.1-127.20.0.40" in out
    assert "discovery: 127.20.0.0/26 (SNMP on port " in out
    assert "HTTP: http://127.0.0.1:" in out and "/metrics" in out
    assert "stop: Ctrl-C, or kill -TERM" in out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("stopped (duration): ")
    cycles = int(summary.split(": ")[1].split()[0])
    answering = int(summary.split(" of 40 printers answering")[0].rsplit(" ", 1)[1])
    # the first cycle waited for the first discovery; then one every 2 s. The simulator keeps
    # about 2% of its printers offline for hours at a time (its dynamics), on purpose.
    assert cycles >= 2 and answering >= 36, summary
    # the uplink reached the local collector: enrolment, registration, ... signed and accepted
    assert "uplink: signed uploads to the local collector https://127.0.0.1:" in out
    accepted = int(summary.rsplit("the collector accepted ", 1)[1].split()[0])
    assert accepted >= 1, summary

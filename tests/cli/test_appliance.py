"""`printwatch run`, `secret`, `assist` and `demo` as real subprocesses against the simulator:
SIGTERM finishes the write in hand and exits 0; a bad configuration exits 2 naming key and line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.sim import Simulator

from tests.support.ports import free_tcp_port
from tests.support.processes import printwatch, start_daemon, stop_daemon, store_rows, wait_for_health
from tests.support.recordings import built_in_fleet

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


@pytest.mark.realtime
def test_run_with_a_secret_community_assist_then_sigterm_exits_0(tmp_path: Path, sim: Simulator) -> None:
    port = free_tcp_port()
    config = write_config(tmp_path, sim, port)
    # Without the secret the configuration is refused, naming the key and the line.
    done = printwatch("run", "--config", str(config))
    assert done.returncode == 2
    assert (
        f"{config}:6: snmp.communities[0]: " in done.stderr
        and "no secret named 'site_community'" in done.stderr
    )
    done = printwatch("secret", "set", "site_community", "--config", str(config), stdin="public\n")
    assert done.returncode == 0, done.stderr
    assert os.stat(tmp_path / "state" / "secret.key").st_mode & 0o777 == 0o600
    assert b"public" not in (tmp_path / "state" / "secrets.json").read_bytes()
    assert printwatch("secret", "list", "--config", str(config)).stdout.split() == ["site_community"]

    proc = start_daemon(config)
    try:
        # First start: a status and a meters cycle, every printer answering.
        health = wait_for_health(port, proc, status_runs=1)
        assert health["devices"] == COUNT and health["answering"] == COUNT
        done = printwatch("assist", f"{sim.first}:{sim.port}", "--config", str(config))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["target"] == f"{sim.first}:{sim.port}"
        done = printwatch("assist", "10.77.0.1", "--config", str(config))
        assert done.returncode == 2 and "no such device" in done.stderr
    finally:
        code, err = stop_daemon(proc)
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
    done = printwatch(
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
        code, err = stop_daemon(proc)
    assert code == 0, err
    # The store opens afterwards (a cycle is one transaction: all of it or none of it).
    [[devices]] = store_rows(tmp_path / "printwatch.toml", "SELECT count(*) FROM devices")
    assert devices == 0 or devices > COUNT // 2  # type: ignore[operator]


def test_a_config_with_problems_exits_2_listing_each(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[appliance]\nstate_dir = "{tmp_path}"\n\n[intervals]\nstatus_minutes = 0\nupload_times = ["7pm"]\n'
    )
    done = printwatch("run", "--config", str(path))
    assert done.returncode == 2
    assert f"{path}:5: intervals.status_minutes: 0 is out of range: 1 to 60 minutes" in done.stderr
    assert f"{path}:6: intervals.upload_times[0]: '7pm' is not a time of day (HH:MM)" in done.stderr


def test_a_slow_step_threshold_that_is_not_a_number_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(f'[appliance]\nstate_dir = "{tmp_path}"\n')
    done = printwatch("run", "--config", str(path), env={**os.environ, "PRINTWATCH_SLOW_STEP_MS": "fast"})
    assert done.returncode == 2
    assert "PRINTWATCH_SLOW_STEP_MS='fast': a number of milliseconds above 0" in done.stderr


def test_assist_without_a_running_appliance_says_so() -> None:
    done = printwatch("assist", "10.0.0.1", "--url", f"http://127.0.0.1:{free_tcp_port()}")
    assert done.returncode == 1 and "cannot reach the appliance" in done.stderr


@pytest.mark.realtime
def test_demo_starts_polls_serves_and_stops_by_itself(tmp_path: Path) -> None:
    # 16 s: a status cycle of the demo's printers takes up to 6 s (the first waits for the
    # discovery; the simulator loses and delays some answers, and each loss costs a 1 s
    # timeout and a retry), so a 2-second interval overruns and skips slots. 10 s gave
    # one cycle in about one run of four.
    # No history first (tests/cli/test_demo_history.py covers it): the real-time demo alone.
    args = ["--duration", "16", "--port", "0", "--count", "40", "--interval", "2", "--history-days", "0"]
    # The demo keeps its folder for the user to look into: the test's, not the machine's /tmp.
    done = printwatch("demo", *args, timeout_s=90, env={**os.environ, "TMPDIR": str(tmp_path)})
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

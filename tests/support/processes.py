"""The command line as a user runs it: ``python -m printwatch.cli ARGS`` in a child process, for
the end-to-end tests of ``printwatch poll``, ``discover``, ``run``, ``demo``, ``collector`` and
``uplink``; and the appliance daemon (``printwatch run``) started, watched and stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

PRINTWATCH = [sys.executable, "-m", "printwatch.cli"]


def printwatch(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs ``printwatch ARGS`` (``stdin`` as its input, else stdin closed; text output captured;
    ``timeout_s`` at the most) in ``env`` (None: this process's environment)."""
    return subprocess.run(
        [*PRINTWATCH, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        check=False,
        env=env,
    )


def start_daemon(config: Path) -> subprocess.Popen[str]:
    """``printwatch run --config CONFIG`` in the background (stop it with :func:`stop_daemon`)."""
    return subprocess.Popen(
        [*PRINTWATCH, "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_daemon(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then its exit status and standard error (killed, and the timeout raised, if it
    has not ended within 15 s)."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


def wait_for_health(
    port: int, proc: subprocess.Popen[str], *, status_runs: int, timeout_s: float = 30
) -> dict[str, Any]:
    """The daemon's /health once its status job has completed ``status_runs`` runs (and its
    meters job as many); fails if the daemon ends first or ``timeout_s`` passes."""
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
    """The rows of ``sql`` on the store beside ``config`` (``state/history.duckdb``), through
    ``printwatch sql``."""
    store = config.parent / "state" / "history.duckdb"
    done = printwatch("sql", "--store", str(store), "--format", "json", sql)
    assert done.returncode == 0, done.stderr
    return [list(json.loads(line).values()) for line in done.stdout.splitlines()]

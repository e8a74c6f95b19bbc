"""``printwatch demo`` from the installed package in any folder: no file outside the package
(no recordings: PRINTWATCH_RECORDINGS points nowhere, the working folder is empty)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from printwatch import catalogue

pytestmark = pytest.mark.realtime


def test_demo_runs_from_an_empty_folder_without_recordings(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-recordings-here"
    env = {**os.environ, "PRINTWATCH_RECORDINGS": str(nowhere)}
    count = len(catalogue.load_models())
    cmd = [sys.executable, "-m", "printwatch.cli", "demo", "--duration", "12", "--port", "0"]
    cmd += ["--count", str(count), "--interval", "2", "--history-days", "2"]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"simulated printers: {count} on 127.20.0.1-127.20.0.{count} " in out
    assert f"({count} built-in models; " in out
    assert "recordings" not in out and not nowhere.exists()
    # The history phase ran first, with its progress line, and the collector got its uploads.
    assert "history: day 2 of 2, " in out and "  history: 2 days made in " in out, out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("stopped (duration): "), summary
    documents = int(summary.split(" poll documents")[0].rsplit(" ", 1)[1])
    answering = int(summary.split(f" of {count} printers answering")[0].rsplit(" ", 1)[1])
    accepted = int(summary.rsplit("the collector accepted ", 1)[1].split()[0])
    # every model answers (the dynamics keep about 2% offline for an hour at a time)
    assert answering >= count - 3 and documents >= count and accepted >= 1, summary
    assert list(tmp_path.iterdir()) == [], "the demo writes nothing in the working folder"

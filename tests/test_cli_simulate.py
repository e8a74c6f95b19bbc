"""``printwatch simulate`` as a user runs it: one line naming the range, stops by itself after
--duration or on SIGINT/SIGTERM, then prints its counts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from tests.real.peers import RECORDINGS, free_udp_port

LINE = re.compile(
    r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) \((\d+) recordings\), community (\S+)"
)


def simulate(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "printwatch.cli.main", "simulate", "--recordings", str(RECORDINGS), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_duration_stops_it() -> None:
    port = free_udp_port()
    started = time.monotonic()
    proc = simulate("--count", "1000", "--port", str(port), "--duration", "0.5", "--base", "127.22.0.1")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    m = LINE.fullmatch(lines[0])
    assert m, lines
    n_recordings = len(list(RECORDINGS.glob("*.snmprec")))
    assert m.groups() == ("1000", "127.22.0.1", "127.22.3.232", str(port), str(n_recordings), "public")
    assert lines[1].startswith("stopped: received 0, answered 0"), lines
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_it(sig: signal.Signals) -> None:
    proc = simulate("--port", "0", "--base", "127.22.0.1")
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert LINE.fullmatch(first.strip()), first
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out.startswith("stopped: received 0"), out


def test_bad_base_is_a_message_not_a_traceback() -> None:
    proc = simulate("--base", "10.1.1.1", "--port", "0")
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert "127.0.0.0/8" in err and "Traceback" not in err

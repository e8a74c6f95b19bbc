"""``printwatch discover`` end to end: the command against the fleet simulator on loopback."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.sim import Simulator

from tests.support.discovery_fleet import NON_PRINTER, printer_recordings
from tests.support.processes import printwatch

pytestmark = pytest.mark.realtime


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator([*printer_recordings(), NON_PRINTER], count=19, base="127.35.0.3", stride=3, port=0) as s:
        yield s


def test_json_gives_one_object_per_printer_and_a_summary_on_stderr(sim: Simulator) -> None:
    r = printwatch(
        "discover", "127.35.0.0/24", "--json", "--port", str(sim.port), "--rate", "20000", "--timeout", "0.3"
    )
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    printers = [sim.printer(i) for i in range(sim.count) if sim.printer(i)["recording"] != NON_PRINTER.stem]
    assert [d["address"] for d in docs] == [p["address"] for p in printers]
    assert [d["serial"] for d, p in zip(docs, printers, strict=True) if p["serial"]] == [
        p["serial"] for p in printers if p["serial"]
    ]
    for d in docs:
        assert d["printer"] is True
        assert set(d) >= {"address", "vendor", "model", "serial", "sys", "found_by"}
        assert d["sys"]["object_id"].startswith("1.3.6.1.4.1.")
        assert d["found_by"]["community"] == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr  # not a terminal: no progress bar
    assert "254 addresses" in lines[0] and f"{len(printers)} printers" in lines[0]
    assert "19 SNMP agents" in lines[0] and "bytes" in lines[0]


def test_text_and_all(sim: Simulator) -> None:
    r = printwatch(
        "discover", "127.35.0.0/26", "--all", "--mode", "snmp", "--port", str(sim.port), "--rate", "20000"
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert len(out) == 19
    assert any("files01" in line or "Linux" in line for line in out)
    assert "(snmp sweep)" in r.stderr


def test_nothing_found_exits_1_and_bad_input_2(sim: Simulator) -> None:
    r = printwatch("discover", "127.36.0.0/28", "--mode", "snmp", "--port", str(sim.port), "--timeout", "0.1")
    assert r.returncode == 1, r.stderr
    assert "0 printers" in r.stderr
    r = printwatch("discover", "127.36.0.1/28")
    assert r.returncode == 2
    assert "127.36.0.1/28" in r.stderr and "host bits" in r.stderr
    r = printwatch("discover", "127.36.0.0/28", "--rate", "0")
    assert r.returncode == 2 and "rate" in r.stderr


def test_a_terminal_gets_a_progress_bar(sim: Simulator) -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "printwatch.cli", "discover", "127.35.0.0/24", "--port", str(sim.port)],
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    text = seen.decode()
    assert "\r[" in text and "addresses" in text and "printers" in text
    assert "discover: 254 addresses" in text


@pytest.mark.realtime
def test_ctrl_c_prints_what_was_found() -> None:
    with Simulator(printer_recordings(), count=50, base="127.37.0.1", port=0) as fleet:
        args = ["127.37.0.0/16", "--json", "--mode", "snmp", "--port", str(fleet.port), "--rate", "2000"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "printwatch.cli", "discover", *args, "--timeout", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            # The 50 printers are the first addresses; the /16 would take 41 s at 2,000/s.
            time.sleep(4.0)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 130, err
    docs = [json.loads(line) for line in out.splitlines()]
    # Printers identified before the signal are printed (all 50 unless the machine is loaded).
    assert docs and all(d["printer"] for d in docs)
    assert {d["address"] for d in docs} <= {f"127.37.0.{i}" for i in range(1, 51)}
    assert "(interrupted)" in err


def test_snmpv3_from_the_command_line(tmp_path: Path) -> None:
    from printwatch._core import V3Credentials

    user = V3Credentials("pw-cli-disc", "SHA", "auth-secret-2")
    secret = tmp_path / "auth"
    secret.write_text("auth-secret-2\n")
    with Simulator(printer_recordings()[:2], count=2, base="127.36.1.10", port=0, v3=user) as fleet:
        args = ["127.36.1.0/28", "--json", "--mode", "snmp", "--port", str(fleet.port), "--timeout", "0.3"]
        r = printwatch(
            "discover",
            *args,
            "--v3-user",
            "pw-cli-disc",
            "--auth-proto",
            "SHA",
            "--auth-pass-file",
            str(secret),
        )
        assert r.returncode == 0, r.stderr
        docs = [json.loads(line) for line in r.stdout.splitlines()]
        assert [d["address"] for d in docs] == ["127.36.1.10", "127.36.1.11"]
        assert {d["found_by"]["version"] for d in docs} == {"3"}
    r = printwatch("discover", "127.36.1.0/28", "--snmp-version", "3")
    assert r.returncode == 2 and "--v3-user" in r.stderr

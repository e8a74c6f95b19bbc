"""``printwatch simulate`` as a user runs it: one line naming the range, stops by itself after
--duration or on SIGINT/SIGTERM, then prints its counts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from printwatch import catalogue
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS
from tests.support.ports import free_udp_port

LINE = re.compile(
    r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) \((\d+) recordings\), community (\S+)"
)


def simulate(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "printwatch.cli.main", "simulate", "--recordings", str(RECORDINGS), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.realtime
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


@pytest.mark.realtime
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


BUILT_IN = re.compile(
    r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) "
    r"\((\d+) built-in models\), community (\S+)"
)


def printwatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "printwatch.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


@pytest.mark.realtime
def test_without_recordings_it_serves_the_built_in_models(tmp_path: Path) -> None:
    n = len(catalogue.load_models())
    done = printwatch("simulate", "--port", "0", "--count", "100", "--duration", "0.3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    m = BUILT_IN.fullmatch(done.stdout.splitlines()[0])
    assert m and m.groups()[:3] == ("100", "127.20.0.1", "127.20.0.100") and m.group(5) == str(n), done.stdout
    picked = printwatch("simulate", "--port", "0", "--duration", "0.1", "--models", "zebra", "production")
    assert picked.returncode == 0, picked.stderr
    assert "(5 built-in models)" in picked.stdout  # 2 Zebra label printers, 3 production devices
    listed = printwatch("simulate", "--list", "--models", "label").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["zebra_zt410", "zebra_zd621d"]


def test_export_snmprec_writes_files_the_simulator_serves(tmp_path: Path) -> None:
    done = printwatch("simulate", "--export-snmprec", str(tmp_path / "out"), "--models", "hp")
    assert done.returncode == 0, done.stderr
    files = sorted((tmp_path / "out").glob("*.snmprec"))
    assert [f.stem for f in files] == sorted(m.id for m in catalogue.select(["hp"]))
    with Simulator(files, count=len(files), base="127.22.1.1", port=0, identity=False) as sim:
        assert sorted(sim.recordings) == [f.stem for f in files]
    text = files[0].read_text()
    lines = text.splitlines()
    assert lines == sorted(lines, key=lambda line: tuple(int(a) for a in line.split("|")[0].split(".")))
    assert "1.3.6.1.2.1.43.5.1.1.17.1|4|" in text  # prtGeneralSerialNumber


def test_unknown_model_and_mixed_options_are_messages() -> None:
    done = printwatch("simulate", "--models", "acme_9000", "--port", "0")
    assert done.returncode == 2 and "no built-in model, vendor or kind 'acme_9000'" in done.stderr
    mixed = printwatch("simulate", "--recordings", "x", "--models", "hp", "--port", "0")
    assert mixed.returncode == 2 and "Traceback" not in mixed.stderr

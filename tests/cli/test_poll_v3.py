"""``printwatch poll`` over SNMPv3: the command's USM options against the fleet simulator on
loopback (which answers v3 as one user), passwords from the command line, a file or the
environment, and clear messages for options that do not fit together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.engine import V3Credentials
from printwatch.sim import Simulator

from tests.support import processes as cli_process
from tests.support.peers import RECORDINGS

AUTH, PRIV = "cli-auth-secret", "cli-priv-secret"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    user = V3Credentials("pw-cli", "SHA256", AUTH, "AES", PRIV)
    with Simulator(RECORDINGS, count=2, base="127.24.0.1", port=0, identity=False, v3=user) as s:
        yield s


def printwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRINTWATCH_V3_")}
    return cli_process.printwatch(*args, env={**clean, **(env or {})})


def v3_args(**override: str) -> list[str]:
    opts = {"--v3-user": "pw-cli", "--auth-proto": "SHA256", "--priv-proto": "AES", **override}
    return [x for k, v in opts.items() if v for x in (k, v)]


@pytest.mark.realtime
def test_auth_priv_poll_with_passwords_on_the_command_line(sim: Simulator) -> None:
    out = printwatch(
        "poll", "--json", *v3_args(), "--auth-pass", AUTH, "--priv-pass", PRIV, f"127.24.0.1:{sim.port}"
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["reachable"] and doc["version"] == "3", doc
    assert doc["failures"] == []
    assert doc["sys"]["descr"]
    assert doc["supplies"] and doc["status"]["device"] != "unknown", doc


@pytest.mark.realtime
def test_passwords_from_a_file_and_from_the_environment(sim: Simulator, tmp_path: Path) -> None:
    auth_file = tmp_path / "auth"
    auth_file.write_text(AUTH + "\n")
    out = printwatch(
        "poll",
        "--json",
        *v3_args(),
        "--auth-pass-file",
        str(auth_file),
        f"127.24.0.2:{sim.port}",
        env={"PRINTWATCH_V3_PRIV_PASS": PRIV},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["version"] == "3"


@pytest.mark.realtime
def test_wrong_password_is_named_not_a_timeout(sim: Simulator) -> None:
    out = printwatch(
        "poll",
        "--json",
        *v3_args(),
        "--auth-pass",
        "not-the-secret",
        "--priv-pass",
        PRIV,
        f"127.24.0.1:{sim.port}",
    )
    doc = json.loads(out.stdout)
    assert doc["reachable"] and {f["kind"] for f in doc["failures"]} == {"wrongDigest"}, doc


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth-proto", "SHA"], "--auth-proto needs --v3-user"),
        (["--v3-user", "u", "--auth-proto", "SHA"], "--auth-proto needs --auth-pass"),
        (["--v3-user", "u", "--auth-proto", "SHA3", "--auth-pass", "long-enough"], "unknown auth_proto"),
        (["--v3-user", "u", "--auth-proto", "SHA", "--auth-pass", "short"], "at least 8 characters"),
        (
            ["--v3-user", "u", "--priv-proto", "AES", "--priv-pass", "long-enough"],
            "--priv-proto needs --auth-proto",
        ),
        (["--v3-user", "u", "--snmp-version", "2c"], "--v3-user speaks SNMPv3"),
        (["--snmp-version", "3"], "--snmp-version 3 needs --v3-user"),
        (["--v3-user", "u", "--auth-proto", "MD5", "--auth-pass-file", "/nonexistent/pw"], "/nonexistent/pw"),
    ],
)
def test_bad_options_say_which(args: list[str], message: str) -> None:
    out = printwatch("poll", *args, "127.0.0.1:1")
    assert out.returncode == 2
    assert message in out.stderr, out.stderr


def test_help_says_where_passwords_may_come_from() -> None:
    out = printwatch("poll", "--help")
    assert "--auth-pass-file" in out.stdout and "PRINTWATCH_V3_AUTH_PASS" in out.stdout
    assert "process list" in out.stdout


@pytest.mark.realtime
def test_simulate_answers_v3_for_poll(tmp_path: Path) -> None:
    """``printwatch simulate --v3-user ...`` serves printers that ``printwatch poll --v3-user``
    reads (the two commands as a user runs them)."""
    env = {"PRINTWATCH_V3_AUTH_PASS": AUTH, "PRINTWATCH_V3_PRIV_PASS": PRIV}
    args = ["--v3-user", "pw-sim", "--auth-proto", "MD5", "--priv-proto", "DES"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRINTWATCH_V3_")}
    cmd = [sys.executable, "-m", "printwatch.cli", "simulate", "--recordings", str(RECORDINGS)]
    cmd += ["--count", "1", "--base", "127.24.1.1", "--port", "0", "--duration", "20", *args]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env={**clean, **env}, stdin=subprocess.DEVNULL
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert "SNMPv3 user pw-sim (authPriv)" in line, line
            port = line.split(" port ")[1].split()[0]
            out = printwatch("poll", "--json", *args, f"127.24.1.1:{port}", env=env)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["version"] == "3"
        finally:
            server.terminate()
            server.wait(timeout=10)

"""appliance/printwatch.service: hardened as the issue asks, and clean under `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

APPLIANCE = Path(__file__).resolve().parents[2] / "appliance"
UNIT = APPLIANCE / "printwatch.service"
COLLECTOR_UNIT = APPLIANCE / "printwatch-collector.service"


def unit_settings(unit: Path = UNIT) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    return dict(parser["Service"])


def test_the_unit_is_hardened() -> None:
    s = unit_settings()
    assert s["User"] == "printwatch" and s["Group"] == "printwatch"
    assert s["CapabilityBoundingSet"] == "CAP_NET_RAW" and s["AmbientCapabilities"] == "CAP_NET_RAW"
    assert s["NoNewPrivileges"] == "yes"
    assert s["ProtectSystem"] == "strict" and s["ProtectHome"] == "yes" and s["PrivateTmp"] == "yes"
    assert s["StateDirectory"] == "printwatch" and s["StateDirectoryMode"] == "0700"
    assert s["KillSignal"] == "SIGTERM" and s["RestartPreventExitStatus"] == "2"
    assert s["ExecStart"].endswith("printwatch run --config /etc/printwatch/printwatch.toml")
    sysusers = (APPLIANCE / "printwatch.sysusers.conf").read_text()
    assert "u printwatch - " in sysusers


def verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # The unit names the installed path of the command; verify checks that it is executable,
    # so the copy checked here names this checkout's.
    here = Path(sys.executable).with_name("printwatch")
    path = tmp_path / "unit.service"
    path.write_text(unit_text.replace("/opt/printwatch/venv/bin/printwatch", str(here)))
    return subprocess.run(
        [tool, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    done = verify(UNIT.read_text(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # not even a warning


def test_the_collector_has_a_unit_of_its_own_without_any_capability(tmp_path: Path) -> None:
    s = unit_settings(COLLECTOR_UNIT)
    assert s["User"] == "printwatch-collector" and s["UMask"] == "0077"
    assert (
        s["CapabilityBoundingSet"] == "" and s["AmbientCapabilities"] == "" and s["NoNewPrivileges"] == "yes"
    )
    assert s["ProtectSystem"] == "strict" and s["PrivateUsers"] == "yes"
    assert s["StateDirectory"] == "printwatch-collector" and s["StateDirectoryMode"] == "0700"
    assert "--api-port 8444" in s["ExecStart"]  # the read API on a listener of its own (loopback)
    assert "u printwatch-collector - " in (APPLIANCE / "printwatch.sysusers.conf").read_text()
    done = verify(COLLECTOR_UNIT.read_text(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_systemd_analyze_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    done = verify(UNIT.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"), tmp_path)
    assert "Unknown key 'ProtectSytem'" in done.stderr

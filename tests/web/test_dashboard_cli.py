"""``printwatch run`` with the dashboard: TLS with a self-signed certificate made on the first
start (and kept), the first-run password printed once; ``printwatch demo`` serves the dashboard on
plain HTTP on loopback; ``[web]`` settings checked with their lines."""

from __future__ import annotations

import hashlib
import re
import ssl
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from printwatch.cli.demo import default_recordings
from printwatch.config import ConfigError, parse_config
from printwatch.sim import Simulator

from tests.test_cli_appliance import free_tcp_port, run_cli, start_daemon, stop

PASSWORD_LINE = re.compile(r"dashboard first-run password for admin: (\S+) \(shown once")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(default_recordings(), count=4, base="127.24.0.1", port=0) as s:
        yield s


def daemon_config(tmp_path: Path, sim: Simulator, port: int, web: str = "") -> Path:
    """A configuration polling ``sim``'s printers, its dashboard on ``port`` (``web``: more
    ``[web]`` lines)."""
    path = tmp_path / "printwatch.toml"
    path.write_text(
        f'[appliance]\nstate_dir = "{tmp_path / "state"}"\n\n[snmp]\ntimeout_s = 0.5\nretries = 1\n\n'
        f'[devices]\ntargets = ["{sim.first}-{sim.last}:{sim.port}"]\n\n'
        f"[web]\nport = {port}\n{web}"
    )
    return path


def tls_config(tmp_path: Path, sim: Simulator, port: int) -> Path:
    return daemon_config(tmp_path, sim, port, 'tls = "self-signed"\n')


def wait_https(port: int, proc: subprocess.Popen[str], timeout_s: float = 30) -> httpx.Response:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return httpx.get(f"https://127.0.0.1:{port}/login", verify=False, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the dashboard did not answer over HTTPS")


def test_run_serves_https_with_a_self_signed_certificate_and_prints_the_password_once(
    tmp_path: Path, sim: Simulator
) -> None:
    port = free_tcp_port()
    config = tls_config(tmp_path, sim, port)
    fingerprints = []
    for start in (1, 2):
        proc = start_daemon(config)
        try:
            login = wait_https(port, proc)
            assert login.status_code == 200 and "Log in" in login.text
            cookie = login.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie
            assert login.headers["strict-transport-security"] == "max-age=31536000"  # HTTPS only, a year
            pem = ssl.get_server_certificate(("127.0.0.1", port))
            der = ssl.PEM_cert_to_DER_cert(pem)
            fingerprints.append(hashlib.sha256(der).hexdigest())
            with pytest.raises(httpx.TransportError):  # no plain HTTP beside it
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            if start == 1:  # the CLI reaches it over HTTPS, trusting the certificate made here
                done = run_cli("assist", f"{sim.first}:{sim.port}", "--config", str(config), timeout_s=60)
                assert done.returncode == 0, done.stderr
        finally:
            code, err = stop(proc)
        assert code == 0, err
        found = PASSWORD_LINE.findall(err)
        if start == 1:
            assert len(found) == 1
            password = found[0]
            assert fingerprints[0].lower() in err.replace(":", "").lower()  # the log names it
        else:
            assert found == []  # printed once, on the first start only
    assert fingerprints[0] == fingerprints[1]  # the certificate made on the first start is kept
    key = tmp_path / "state" / "web-tls" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stored = (tmp_path / "state" / "web-password.json").read_text()
    assert password not in stored and "scrypt$" in stored


def test_demo_serves_the_dashboard_on_plain_http_on_loopback() -> None:
    done = run_cli("demo", "--duration", "5", "--port", "0", "--count", "10", "--interval", "2", timeout_s=60)
    assert done.returncode == 0, done.stderr
    banner = r"dashboard: (http://127\.0\.0\.1:\d+)/  user admin, first-run password (\S+) "
    m = re.search(banner, done.stdout)
    assert m, done.stdout


@pytest.mark.parametrize(
    ("web", "line", "key", "message"),
    [
        ('host = "0.0.0.0"\ntls = "off"', 3, "web.tls", "plain HTTP is served on loopback addresses only"),
        ('tls = "files"', 2, "web.tls", "'files' needs cert_file and key_file"),
        ('cert_file = "c.pem"', 2, "web.cert_file", "is used only with tls = 'files'"),
        ('tls = "maybe"', 2, "web.tls", "'maybe' is not one of auto, self-signed, files, off"),
        ('api_token = "short"', 2, "web.api_token", "needs 16 characters or more"),
    ],
)
def test_web_settings_are_checked_with_their_lines(web: str, line: int, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"[web]\n{web}\n", source="p.toml")
    assert f"p.toml:{line}: {key}: {message}" in str(info.value)


def test_web_tls_auto_is_plain_on_loopback_and_tls_elsewhere() -> None:
    assert parse_config("[web]\n", source="p.toml").web.scheme == "http"
    assert parse_config('[web]\nhost = "0.0.0.0"\n', source="p.toml").web.scheme == "https"

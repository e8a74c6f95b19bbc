"""``printwatch run`` with the dashboard: TLS with a self-signed certificate made on the first
start (and kept), the first-run password in a 0600 file of the state directory (the journal names
the file, never the password; the file goes when the password is changed); ``printwatch demo``
serves the dashboard on plain HTTP on loopback; ``[web]`` settings checked with their lines."""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from printwatch.config import ConfigError, parse_config
from printwatch.sim import Simulator

from tests.support.dashboard import daemon_config
from tests.support.ports import free_tcp_port
from tests.support.processes import printwatch, start_daemon, stop_daemon
from tests.support.recordings import built_in_fleet

PASSWORD_LINE = re.compile(r"dashboard first-run password for admin is in (\S+) \(readable by this user only")
NEW_PASSWORD = "a long new password"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with built_in_fleet(count=4, base="127.24.0.1", port=0) as s:
        yield s


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


def log_in_and_change_password(base: str, password: str, new: str) -> None:
    """Logs in over ``base`` (HTTPS, the self-signed certificate) and changes the password."""
    with httpx.Client(base_url=base, verify=False, follow_redirects=False, timeout=30) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert token
        r = c.post("/login", data={"user": "admin", "password": password, "csrf": token.group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/settings", r.text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', c.get("/settings").text)
        assert csrf
        r = c.post(
            "/settings/password",
            data={"current": password, "new": new, "again": new, "csrf": csrf.group(1)},
        )
        assert r.status_code == 200 and "Password changed" in r.text, r.text


@pytest.mark.realtime
def test_run_serves_https_with_a_self_signed_certificate_and_keeps_the_password_off_the_journal(
    tmp_path: Path, sim: Simulator
) -> None:
    port = free_tcp_port()
    config = tls_config(tmp_path, sim, port)
    first_file = tmp_path / "state" / "first-password.txt"
    fingerprints = []
    password = ""  # read from the file after the first start
    for start in (1, 2, 3):
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
                done = printwatch("assist", f"{sim.first}:{sim.port}", "--config", str(config), timeout_s=60)
                assert done.returncode == 0, done.stderr
            if start == 2:  # the password from the file logs in; once changed, the file is gone
                log_in_and_change_password(f"https://127.0.0.1:{port}", password, NEW_PASSWORD)
                assert not first_file.exists()
        finally:
            code, err = stop_daemon(proc)
        assert code == 0, err
        found = PASSWORD_LINE.findall(err)
        if start == 1:
            assert found == [str(first_file)]  # the journal says where, not what
            assert stat.S_IMODE(first_file.stat().st_mode) == 0o600
            password = first_file.read_text().strip()
            assert len(password) >= 16 and password not in err
            assert fingerprints[0].lower() in err.replace(":", "").lower()  # the log names it
        elif start == 2:
            assert found == [str(first_file)] and password not in err  # still unchanged at the start
        else:
            assert found == [] and NEW_PASSWORD not in err
    assert fingerprints[0] == fingerprints[1] == fingerprints[2]  # the certificate made first is kept
    key = tmp_path / "state" / "web-tls" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stored = (tmp_path / "state" / "web-password.json").read_text()
    assert password not in stored and NEW_PASSWORD not in stored and "scrypt$131072$8$1$" in stored


@pytest.mark.realtime
def test_demo_serves_the_dashboard_on_plain_http_on_loopback(tmp_path: Path) -> None:
    args = ["--duration", "5", "--port", "0", "--count", "10", "--interval", "2", "--history-days", "0"]
    # The demo keeps its folder for the user to look into: the test's, not the machine's /tmp.
    done = printwatch("demo", *args, timeout_s=60, env={**os.environ, "TMPDIR": str(tmp_path)})
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

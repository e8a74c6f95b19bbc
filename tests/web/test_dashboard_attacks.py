"""Issue 17's attacks on the dashboard, replayed over real sockets against the appliance served by
hypercorn (HTTP/1.1 written by hand, so that a test controls every byte and every pause):

* a burst of simultaneous wrong passwords from one address: only the throttle's allowance is
  checked, the rest refused (429) without scrypt;
* bodies nobody logged in may send: an oversized login form (declared, or streamed chunked), a
  multipart login, a body that trickles in: refused (413, 415, 408) and the connection closed,
  without reading what the sender offers beyond a few KiB;
* a client that goes away in the middle of its body: one log line, no traceback;
* ``/health`` for a stranger: its status alone;
* guesses of the current password on the settings page: throttled like logins;
* ``/metrics`` and the assist API without a token: for the appliance's own user (and root), not
  for another local user's processes.

Every read has a timeout and every sender a bound: a server that does not refuse fails the test
within seconds instead of hanging it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from printwatch.web.auth.limits import PUBLIC_BODY_BYTES
from printwatch.web.auth.sessions import LoginThrottle

from tests.web.appliance_thread import Running

pytestmark = pytest.mark.realtime

#: Simultaneous attempts, as in the issue's report.
BURST = 150
READ_TIMEOUT_S = 10.0


def address(dash: Running) -> tuple[str, int]:
    url = urlsplit(dash.url)
    assert url.hostname and url.port
    return url.hostname, url.port


def connect(dash: Running, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the dashboard from ``source`` (any 127.x address: the throttle counts
    per client address, so a test that throttles one leaves the others alone)."""
    return socket.create_connection(address(dash), timeout=READ_TIMEOUT_S, source_address=(source, 0))


def head(dash: Running, method: str, path: str, headers: dict[str, str | int]) -> bytes:
    host, port = address(dash)
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def status_of(answer: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    return int(m.group(1)) if m else None


def read_status(sock: socket.socket) -> int | None:
    """The status code of the answer on ``sock`` (None: closed without one)."""
    got = b""
    while b"\r\n" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return status_of(got)


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


def login_form(dash: Running) -> str:
    """The login form's CSRF token, which is also its ``pw_login`` cookie (double submit)."""
    r = httpx.get(dash.url + "/login", timeout=READ_TIMEOUT_S)
    assert r.status_code == 200
    token = r.cookies["pw_login"]
    assert f'name="csrf" value="{token}"' in r.text
    return token


def login_request(dash: Running, token: str, password: str) -> bytes:
    body = urlencode({"user": "admin", "password": password, "csrf": token}).encode()
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": "application/x-www-form-urlencoded",
        "content-length": len(body),
        "connection": "close",
    }
    return head(dash, "POST", "/login", headers) + body


def test_simultaneous_wrong_passwords_from_one_address_are_checked_only_up_to_the_allowance(
    dash: Running,
) -> None:
    """BURST attempts sent at once (in about 0.1 s, but for the few that the listen backlog makes
    the kernel retry a second later): once the free failures are taken (counted when an attempt
    starts, not when its check ends), the others are refused. The throttle's clock stands still
    during the burst, so that no wait runs out while it arrives: exactly the allowance is checked."""
    dashboard = dash.setup.dashboard
    throttle = LoginThrottle(clock=lambda: 1_000.0)
    dashboard.throttle, before = throttle, dashboard.throttle
    token = login_form(dash)
    wrong = login_request(dash, token, "a wrong guess")
    attacker, other = "127.0.17.1", "127.0.17.2"
    socks: list[socket.socket] = []
    try:
        started = time.monotonic()
        for _ in range(BURST):
            sock = connect(dash, attacker)
            socks.append(sock)
            sock.sendall(wrong)
        sent_s = time.monotonic() - started
        codes = [read_status(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
        dashboard.throttle = before
    checked = codes.count(401)  # a password that was checked (scrypt) and wrong
    assert codes.count(429) == BURST - checked, codes
    assert checked == throttle.free_failures, f"{checked} of {BURST} checked (sent in {sent_s:.2f} s)"
    # the address is throttled: even the right password is refused unchecked; another is not
    dashboard.throttle = throttle
    try:
        for source, expected in ((attacker, 429), (other, 303)):
            with connect(dash, source) as sock:
                sock.sendall(login_request(dash, token, dash.first_password))
                assert read_status(sock) == expected, source
    finally:
        dashboard.throttle = before


def test_an_oversized_login_body_is_refused_without_being_read(dash: Running) -> None:
    """A declared gigabyte: 413 once the headers are in, and the connection closed, though the
    sender has sent only its first 64 KiB (before: the server waited for the rest, forever)."""
    token = login_form(dash)
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": "application/x-www-form-urlencoded",
        "content-length": 2**30,
    }
    with connect(dash) as sock:
        sock.sendall(head(dash, "POST", "/login", headers) + b"user=admin&password=" + b"a" * 65536)
        answer = read_to_close(sock)
    assert status_of(answer) == 413, answer[:200]
    assert b"connection: close" in answer.lower()


@dataclass
class Streamer:
    """Sends ``chunks`` on ``sock`` in a thread (each after ``pause_s``) until the server stops it."""

    sock: socket.socket
    chunks: list[bytes]
    pause_s: float = 0.0
    sent: int = 0
    stopped_by: str = ""
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for chunk in self.chunks:
                time.sleep(self.pause_s)
                self.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError as err:  # the server closed the connection (or the send timed out)
            self.stopped_by = type(err).__name__

    def join(self) -> None:
        self.thread.join(timeout=READ_TIMEOUT_S * 3)
        assert not self.thread.is_alive()


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_login_body_streamed_without_a_length_is_cut_after_a_few_kib(dash: Running) -> None:
    """Chunked, no length: the server reads up to its limit, answers 413 and closes; the sender's
    32 MiB stop after what the sockets' buffers hold (before: all read, then a 403)."""
    token = login_form(dash)
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": "application/x-www-form-urlencoded",
        "transfer-encoding": "chunked",
    }
    total = 32 * 2**20
    with connect(dash) as sock:
        sock.sendall(head(dash, "POST", "/login", headers))
        streamer = Streamer(sock, [chunked(b"a" * 65536)] * (total // 65536) + [b"0\r\n\r\n"])
        answer = read_to_close(sock)
        streamer.join()
    assert status_of(answer) == 413, answer[:200]
    assert streamer.stopped_by, f"the server read all {streamer.sent:,} bytes"
    assert streamer.sent < total // 2, f"{streamer.sent:,} bytes sent before the server closed"
    print(f"chunked: {streamer.sent:,} of {total:,} bytes sent before the server closed")


def multipart(fields: dict[str, str], file: bytes | None = None) -> tuple[str, bytes]:
    boundary = "printwatch-test-boundary"
    parts = [
        f'--{boundary}\r\ncontent-disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file is not None:
        parts.append(
            f'--{boundary}\r\ncontent-disposition: form-data; name="f"; filename="f.bin"\r\n'
            "content-type: application/octet-stream\r\n\r\n".encode()
            + file
            + b"\r\n"
        )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(("file_bytes", "expected"), [(None, 415), (2**20, 413)])
def test_a_multipart_login_is_refused(dash: Running, file_bytes: int | None, expected: int) -> None:
    """The login form is urlencoded: multipart is 415 (no file is spooled), and a multipart body
    past the limit 413, like any other."""
    token = login_form(dash)
    kind, body = multipart(
        {"user": "admin", "password": dash.first_password, "csrf": token},
        None if file_bytes is None else b"x" * file_bytes,
    )
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": kind,
        "content-length": len(body),
        "connection": "close",
    }
    with connect(dash) as sock:
        streamer = Streamer(sock, [head(dash, "POST", "/login", headers), body])
        answer = read_to_close(sock)
        streamer.join()
    assert status_of(answer) == expected, answer[:300]
    assert b"pw_session" not in answer


def test_a_login_body_that_trickles_in_is_timed_out(dash: Running) -> None:
    """One byte every 0.1 s (each read comes soon enough; the whole never does): the body's
    deadline answers 408 and closes (before: the server waited as long as the sender did)."""
    dashboard = dash.setup.dashboard
    token = login_form(dash)
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": "application/x-www-form-urlencoded",
        "content-length": 1000,
    }
    dashboard.body_timeout_s = 1.0
    try:
        with connect(dash) as sock:
            sock.sendall(head(dash, "POST", "/login", headers))
            started = time.monotonic()
            streamer = Streamer(sock, [b"a"] * 80, pause_s=0.1)  # 8 s at most
            answer = read_to_close(sock)
            took_s = time.monotonic() - started
            streamer.join()
    finally:
        dashboard.body_timeout_s = 10.0
    assert status_of(answer) == 408, answer[:200]
    assert 0.9 <= took_s < 4.0, took_s
    assert streamer.sent < 50


def test_an_unauthenticated_post_elsewhere_is_answered_without_reading_its_body(dash: Running) -> None:
    """A page behind the gate, with a declared gigabyte: the redirect to the login, and the
    connection closed instead of waiting for (or draining) the body."""
    with connect(dash) as sock:
        sock.sendall(head(dash, "POST", "/discovery/add", {"content-length": 2**30}) + b"a" * 4096)
        answer = read_to_close(sock)
    assert status_of(answer) == 303 and b"location: /login" in answer.lower()


def test_a_long_login_fits_the_limit_and_a_session_may_send_more(dash: Running) -> None:
    """The limits leave room for real use: a login with a 1,000-character password is checked
    (401, not 413); with a session, a 10 KiB field is read and judged, one of 100 KiB refused."""
    token = login_form(dash)
    assert len(login_request(dash, token, "p" * 1000)) < PUBLIC_BODY_BYTES
    with connect(dash, "127.0.17.3") as sock:
        sock.sendall(login_request(dash, token, "p" * 1000))
        assert read_status(sock) == 401
    with httpx.Client(base_url=dash.url, follow_redirects=False, timeout=READ_TIMEOUT_S) as c:
        c.get("/login")
        r = c.post(
            "/login", data={"user": "admin", "password": dash.first_password, "csrf": c.cookies["pw_login"]}
        )
        assert r.status_code == 303 and r.headers["location"] == "/settings"
        m = re.search(r'<meta name="csrf-token" content="([^"]+)"', c.get("/settings").text)
        assert m
        form = {"current": "not the password", "again": "x", "csrf": m.group(1)}
        r = c.post("/settings/password", data={**form, "new": "n" * 10_000})
        assert r.status_code == 401 and "The current password is wrong" in r.text
        r = c.post("/settings/password", data={**form, "new": "n" * 100_000})
        assert r.status_code == 413


def test_a_client_that_goes_away_mid_body_is_one_log_line(
    dash: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """(before: hypercorn's "Error in ASGI Framework" and a 40-line traceback for each)"""
    caplog.set_level(logging.INFO, logger="printwatch.web")
    token = login_form(dash)
    headers: dict[str, str | int] = {
        "cookie": f"pw_login={token}",
        "content-type": "application/x-www-form-urlencoded",
        "content-length": 1000,
    }
    with connect(dash) as sock:
        sock.sendall(head(dash, "POST", "/login", headers) + b"user=admin&password=")
    end = time.monotonic() + 5.0
    while time.monotonic() < end and not any("went away" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)
    ours = [r for r in caplog.records if r.name.startswith("printwatch.web")]
    gone = [r for r in ours if "went away" in r.getMessage()]
    assert len(gone) == 1, [r.getMessage() for r in ours]
    assert gone[0].levelno == logging.INFO and "127.0.0.1: POST /login" in gone[0].getMessage()
    assert [r.getMessage() for r in ours if r.levelno >= logging.ERROR or r.exc_info] == []


def test_health_tells_a_stranger_only_the_status(dash: Running) -> None:
    """Whoever may read /metrics (here: a loopback client without a browser's Origin, then the
    bearer token once one is configured) gets the whole answer; anyone else the status alone."""
    dashboard = dash.setup.dashboard
    with httpx.Client(base_url=dash.url, timeout=READ_TIMEOUT_S) as c:
        full = c.get("/health").json()
        assert {"status", "version", "devices", "jobs"} <= set(full)
        stranger = c.get("/health", headers={"origin": "http://evil.example"})
        assert stranger.status_code in (200, 503) and set(stranger.json()) == {"status"}
        dashboard.api_token = "t" * 32
        try:
            assert set(c.get("/health").json()) == {"status"}
            authorized = c.get("/health", headers={"authorization": "Bearer " + "t" * 32})
            assert {"version", "jobs"} <= set(authorized.json())
        finally:
            dashboard.api_token = None


def test_guesses_of_the_current_password_are_throttled_like_logins(dash: Running) -> None:
    """A stolen session cannot try passwords on the settings page at scrypt's pace: the same
    throttle as the login, per address (before: every guess was checked)."""
    dashboard = dash.setup.dashboard
    throttle = LoginThrottle(clock=lambda: 1_000.0)  # no wait runs out during the test
    dashboard.throttle, before = throttle, dashboard.throttle
    transport = httpx.HTTPTransport(local_address="127.0.17.4")
    try:
        with httpx.Client(base_url=dash.url, transport=transport, timeout=READ_TIMEOUT_S) as c:
            c.get("/login")
            form = {"user": "admin", "password": dash.first_password, "csrf": c.cookies["pw_login"]}
            assert c.post("/login", data=form, follow_redirects=False).status_code == 303
            m = re.search(r'<meta name="csrf-token" content="([^"]+)"', c.get("/settings").text)
            assert m
            change = {"new": "n" * 12, "again": "n" * 12, "csrf": m.group(1)}
            codes = [
                c.post("/settings/password", data={**change, "current": f"guess {n}"}).status_code
                for n in range(throttle.free_failures + 3)
            ]
            assert codes == [401] * throttle.free_failures + [429] * 3
            r = c.post("/settings/password", data={**change, "current": dash.first_password})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert "Too many wrong passwords" in r.text
    finally:
        dashboard.throttle = before
    assert not dashboard.passwords.verify("admin", "n" * 12)  # nothing was changed


NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("curl"), reason="runs curl as another user")
def test_without_a_token_metrics_and_assist_answer_only_the_appliances_own_user(dash: Running) -> None:
    """No api_token: a local process of another user (curl run as nobody) is refused /metrics and
    POST /api/assist and gets /health's status alone; the same requests from the appliance's own
    user (this test's, root) are answered (before: every local process was)."""
    assert dash.setup.dashboard.api_token is None

    def curl(path: str, *, post: bool = False, user: int | None = None) -> tuple[int, str]:
        args = ["curl", "-s", "-m", "60", "-w", "\\n%{http_code}", *(["-X", "POST"] if post else [])]
        done = subprocess.run(
            [*args, dash.url + path], user=user, group=user, extra_groups=[] if user else None,
            capture_output=True, text=True, timeout=90, check=True,
        )  # fmt: skip
        body, _, code = done.stdout.rpartition("\n")
        return int(code), body

    device = f"/api/assist/{dash.sim.first}:{dash.sim.port}"
    code, body = curl("/metrics", user=NOBODY)
    assert code == 401 and "from the appliance itself by its own user or root" in body
    assert curl(device, post=True, user=NOBODY)[0] == 401
    code, body = curl("/health", user=NOBODY)
    assert code in (200, 503) and set(json.loads(body)) == {"status"}
    code, body = curl("/metrics")
    assert code == 200 and "printwatch_devices" in body
    code, body = curl(device, post=True)
    assert code == 200 and json.loads(body)["reachable"] is True
    assert "jobs" in json.loads(curl("/health")[1])

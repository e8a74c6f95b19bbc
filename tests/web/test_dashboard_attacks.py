"""Issue 17's attacks on the dashboard, replayed over real sockets against the appliance served by
hypercorn (HTTP/1.1 written by hand, so that a test controls every byte and every pause):

* a burst of simultaneous wrong passwords from one address: only the throttle's allowance is
  checked, the rest refused (429) without scrypt.

Every read has a timeout: a server that does not refuse fails the test within seconds instead
of hanging it.
"""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import urlencode, urlsplit

import httpx
from printwatch.web.dashboard.sessions import LoginThrottle

from tests.web.appliance_thread import Running

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

"""Two of the review's findings, over real HTTP against the appliance on the simulator: a password
hash made with the old scrypt costs (N=2^14) is replaced by one with today's (N=2^17) at the next
successful login, never at a failed one; "add a printer" resolves a name before it takes the
store's write lock, within a bounded time, so a DNS server that does not answer holds up neither
the store's writer nor another printer added meanwhile."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from printwatch.web.auth.passwords import PasswordFile, hash_password

from tests.support.dashboard import csrf_of, log_in
from tests.web.appliance_thread import Running

pytestmark = pytest.mark.realtime

PASSWORD = "an older appliance's password"
SLOW_NAME = "slow-printer.example"


@pytest.fixture(scope="module")
def session(dash: Running) -> Iterator[httpx.Client]:
    """A client logged in, the first-run password changed."""
    with httpx.Client(base_url=dash.url, follow_redirects=False, timeout=30) as c:
        assert log_in(c, dash.first_password).status_code == 303
        csrf = csrf_of(c.get("/settings").text)
        r = c.post(
            "/settings/password",
            data={"current": dash.first_password, "new": PASSWORD, "again": PASSWORD, "csrf": csrf},
        )
        assert r.status_code == 200 and "Password changed" in r.text
        yield c


def stored_hash(dash: Running) -> str:
    data: dict[str, Any] = json.loads((dash.state_dir / "web-password.json").read_text())
    return str(data["hash"])


def login(dash: Running, password: str) -> int:
    """The status of a login with ``password`` (a new client each time)."""
    with httpx.Client(base_url=dash.url, follow_redirects=False, timeout=30) as c:
        r = log_in(c, password)
        assert r.status_code != 303 or r.headers["location"] == "/fleet"
        return r.status_code


def test_an_old_scrypt_hash_is_replaced_at_the_next_successful_login(
    dash: Running, session: httpx.Client
) -> None:
    path = dash.state_dir / "web-password.json"
    old = hash_password(PASSWORD, n=2**14)
    path.write_text(json.dumps({"user": "admin", "hash": old, "must_change": False}))
    dash.setup.dashboard.passwords = PasswordFile(path)  # what a restart on that file reads
    assert login(dash, PASSWORD + "x") == 401
    assert stored_hash(dash) == old  # a wrong password changes nothing
    assert login(dash, PASSWORD) == 303
    fresh = stored_hash(dash)
    assert fresh.startswith("scrypt$131072$8$1$") and fresh != old
    assert json.loads(path.read_text())["must_change"] is False
    assert login(dash, PASSWORD) == 303  # the new hash is the same password
    assert login(dash, "another password") == 401
    assert stored_hash(dash) == fresh  # rehashed once, not at every login
    assert session.get("/fleet").status_code == 200  # other sessions are untouched


def test_a_name_that_does_not_resolve_in_time_holds_up_no_store_write(
    dash: Running, session: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked, release = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SLOW_NAME:  # a DNS server that does not answer (the resolver's own wait)
            asked.set()
            release.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(dash.setup.dashboard, "resolve_timeout_s", 3.0, raising=False)
    csrf = csrf_of(session.get("/discovery").text)
    cookies = dict(session.cookies)

    def add(target: str, timeout_s: float) -> tuple[httpx.Response, float]:
        with httpx.Client(base_url=dash.url, cookies=cookies, timeout=timeout_s) as c:
            start = time.monotonic()
            r = c.post("/discovery/add", data={"target": target, "csrf": csrf})
            return r, time.monotonic() - start

    try:
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(add, SLOW_NAME, 30)
            assert asked.wait(10)
            # the lookup hangs: another printer added by address meanwhile needs the write lock
            quick, quick_s = add("127.22.0.200", 2.5)
            assert quick.status_code == 200 and "Added 127.22.0.200" in quick.text
            assert quick_s < 1.5
            r, slow_s = slow.result(timeout=30)
            assert not release.is_set()  # it answered while the lookup still hung
            assert r.status_code == 400 and "DNS gave no answer within 3 s" in r.text
            assert 2.9 < slow_s < 6
    finally:
        release.set()
    assert "127.22.0.200" in dash.store.targets()
    assert not any(SLOW_NAME in t for t in dash.store.targets())

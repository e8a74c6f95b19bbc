"""Dashboard sessions survive a restart: the sessions file of the state directory (only token
hashes, 0600, replaced atomically), written at once on login, logout and password change and
lazily for seen times; a corrupt file is a warning and no sessions; expired sessions are dropped.
Then over real HTTP: ``printwatch run`` started, logged in, stopped, started again on the same
state directory, the cookie still works; logged out, it no longer does after another restart."""

from __future__ import annotations

import json
import logging
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from printwatch.sim import Simulator
from printwatch.web.auth.passwords import PasswordFile
from printwatch.web.auth.session_file import SESSIONS_FILE, SessionFile
from printwatch.web.auth.sessions import Sessions, token_hash

from tests.support.dashboard import daemon_config
from tests.support.ports import free_tcp_port
from tests.support.processes import start_daemon, stop_daemon
from tests.support.recordings import built_in_fleet

IDLE_S = 3600.0
MAX_S = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


def open_sessions(path: Path, clock: Clock) -> Sessions:
    """A new Sessions reading ``path``: what a restart of the appliance makes."""
    return Sessions(SessionFile(path), idle_s=IDLE_S, max_s=MAX_S, clock=clock)


def stored(path: Path) -> list[dict[str, object]]:
    data = json.loads(path.read_text())
    assert data["version"] == 1
    entries: list[dict[str, object]] = data["sessions"]
    return entries


async def test_a_session_is_valid_after_a_restart_and_its_token_is_not_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / SESSIONS_FILE
    clock = Clock()
    first = open_sessions(path, clock)
    assert len(first) == 0 and not path.exists()  # a missing file is no sessions
    token, session = first.open("admin", must_change=True)
    await first.save_if_due()  # a login is written at once
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text()
    assert token not in raw and token_hash(token) in raw
    assert session.csrf in raw  # the CSRF token is kept: the pages' forms go on working
    assert sorted(p.name for p in path.parent.iterdir()) == [SESSIONS_FILE]  # no temporary file left

    clock.now += 600
    again = open_sessions(path, clock)  # the restart
    got = again.get(token)
    assert got is not None
    assert (got.user, got.csrf, got.must_change) == ("admin", session.csrf, True)
    assert got.created == session.created
    assert got.seen == clock.now
    assert again.get("not-" + token) is None and again.get(token_hash(token)) is None  # the hash is no key


async def test_logout_and_a_password_change_are_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / SESSIONS_FILE
    clock = Clock()
    sessions = open_sessions(path, clock)
    tokens = [sessions.open("admin", must_change=True)[0] for _ in range(4)]
    other, _ = sessions.open("operator", must_change=False)
    await sessions.save_if_due()
    assert len(stored(path)) == 5

    sessions.close(tokens[0])
    assert sessions.due()
    await sessions.save_if_due()
    assert len(stored(path)) == 4 and len(open_sessions(path, clock)) == 4

    kept = sessions.get(tokens[1])
    assert kept is not None
    kept.must_change = False  # what the password page does, then it ends the other sessions
    sessions.close_all("admin", keep=tokens[1])
    await sessions.save_if_due()
    after = open_sessions(path, clock)
    assert [after.get(t) is not None for t in tokens] == [False, True, False, False]
    survivor = after.get(tokens[1])
    assert survivor is not None and survivor.must_change is False
    assert after.get(other) is not None  # another user's session is not ended


async def test_seen_times_are_written_at_most_once_a_minute_and_at_shutdown(tmp_path: Path) -> None:
    path = tmp_path / SESSIONS_FILE
    clock = Clock()
    sessions = open_sessions(path, clock)
    token, _ = sessions.open("admin", must_change=False)
    await sessions.save_if_due()
    written = path.read_bytes()
    for _ in range(30):  # a request every second for half a minute: no write
        clock.now += 1
        assert sessions.get(token) is not None
        assert not sessions.due()
        await sessions.save_if_due()
    assert path.read_bytes() == written
    clock.now += 30  # a minute after the login's write: the next request writes
    assert sessions.get(token) is not None
    assert sessions.due()
    await sessions.save_if_due()
    assert stored(path)[0]["seen"] == clock.now
    clock.now += 5
    assert sessions.get(token) is not None and not sessions.due()
    sessions.save()  # at shutdown: the last seen time too
    assert stored(path)[0]["seen"] == clock.now
    written = path.read_bytes()
    sessions.save()  # nothing new: nothing written
    assert path.read_bytes() == written

    # idle for longer than idle_s after the restart: gone
    clock.now += IDLE_S + 1
    assert open_sessions(path, clock).get(token) is None


def test_expired_sessions_are_dropped_at_load_and_not_written_back(tmp_path: Path) -> None:
    path = tmp_path / SESSIONS_FILE
    clock = Clock()
    t = clock.now
    sessions = open_sessions(path, clock)
    old, s_old = sessions.open("admin", must_change=False)
    idle, s_idle = sessions.open("admin", must_change=False)
    live, s_live = sessions.open("admin", must_change=False)
    s_old.created, s_old.seen = t - MAX_S + 10, t - 10  # used a moment ago, but 7 days old soon
    s_idle.created, s_idle.seen = t - 2 * IDLE_S, t - IDLE_S + 10  # idle for almost idle_s
    s_live.created, s_live.seen = t - 10, t - 10
    sessions.save()
    assert len(stored(path)) == 3

    clock.now += 20  # the appliance was down for 20 s: two of them expired meanwhile
    restarted = open_sessions(path, clock)
    assert len(restarted) == 1
    assert restarted.get(old) is None and restarted.get(idle) is None
    assert restarted.get(live) is not None
    restarted.save()  # the expired ones are not written back
    assert [e["token_sha256"] for e in stored(path)] == [token_hash(live)]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "is corrupt: not JSON"),
        (b"\xff\xfe\x00garbage", "is corrupt: not JSON"),
        (b'["a list"]', "is corrupt: not a JSON object"),
        (b'{"version": 2, "sessions": []}', "is corrupt: version: 2, expected 1"),
        (b'{"version": 1}', "is corrupt: sessions: missing or not a list"),
        (
            b'{"version": 1, "sessions": [{"token_sha256": "abc"}]}',
            "is corrupt: sessions[0].token_sha256: missing or not 64 hex digits",
        ),
        (
            b'{"version": 1, "sessions": [{"token_sha256": "' + b"a" * 64 + b'", "user": "admin", '
            b'"csrf": "c", "must_change": "no", "created": 1, "seen": 1}]}',
            "is corrupt: sessions[0].must_change: missing or not true or false",
        ),
        (b"", "is corrupt: not JSON"),  # a file cut short (not written by this code)
    ],
)
async def test_a_corrupt_file_is_a_warning_and_no_sessions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, why: str
) -> None:
    path = tmp_path / SESSIONS_FILE
    path.write_bytes(content)
    clock = Clock()
    with caplog.at_level(logging.WARNING):
        sessions = open_sessions(path, clock)
    assert len(sessions) == 0
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1
    assert f"dashboard sessions file {path} {why}" in messages[0], messages
    assert "everybody logs in again" in messages[0]
    # the next login replaces it with a good file
    token, _ = sessions.open("admin", must_change=False)
    await sessions.save_if_due()
    assert open_sessions(path, clock).get(token) is not None


def test_an_unreadable_file_is_a_warning_and_no_sessions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / SESSIONS_FILE
    path.mkdir()  # read_bytes: IsADirectoryError, even for root
    with caplog.at_level(logging.WARNING):
        sessions = open_sessions(path, Clock())
    assert len(sessions) == 0
    assert f"dashboard sessions file {path} cannot be read: " in caplog.text


async def test_a_write_that_fails_is_a_warning_and_the_session_stays_valid(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = blocker / SESSIONS_FILE
    clock = Clock()
    sessions = open_sessions(path, clock)
    with caplog.at_level(logging.WARNING):
        token, _ = sessions.open("admin", must_change=False)
        await sessions.save_if_due()
    assert f"dashboard sessions file {path} cannot be written: " in caplog.text
    assert sessions.get(token) is not None
    assert not sessions.due()  # tried again a minute later, not on every request
    clock.now += 60
    assert sessions.due()


def test_a_stale_snapshot_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    """Two writes from two threads may finish in either order: the later state stays."""
    path = tmp_path / SESSIONS_FILE
    clock = Clock()
    sessions = Sessions(None, clock=clock)
    file = SessionFile(path)
    token, session = sessions.open("admin", must_change=False)
    older = file.snapshot({})
    newer = file.snapshot({token_hash(token): session})
    assert file.write(newer) is True
    assert file.write(older) is False
    assert [e["token_sha256"] for e in stored(path)] == [token_hash(token)]


# --- over real HTTP: printwatch run, restarted on the same state directory ------------------

PASSWORD = "correct horse battery"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with built_in_fleet(count=2, base="127.25.0.1", port=0) as s:
        yield s


def wait_http(url: str, proc: subprocess.Popen[str], timeout_s: float = 30) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            httpx.get(url + "/health", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the appliance did not answer on {url} in {timeout_s} s")


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


@pytest.mark.realtime
def test_a_cookie_outlives_a_restart_of_printwatch_run_until_logout(tmp_path: Path, sim: Simulator) -> None:
    port = free_tcp_port()
    url = f"http://127.0.0.1:{port}"
    config = daemon_config(tmp_path, sim, port, 'host = "127.0.0.1"\n')
    state = tmp_path / "state"
    PasswordFile(state / "web-password.json").change(PASSWORD)  # set before the first start

    def started() -> subprocess.Popen[str]:
        proc = start_daemon(config)
        wait_http(url, proc)
        return proc

    def stopped(proc: subprocess.Popen[str]) -> str:
        code, err = stop_daemon(proc)
        assert code == 0, err
        return err

    proc = started()
    try:
        with httpx.Client(base_url=url, follow_redirects=False) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token, page.text
            r = c.post("/login", data={"user": "admin", "password": PASSWORD, "csrf": token.group(1)})
            assert r.status_code == 303 and r.headers["location"] == "/fleet", r.text
            cookie = c.cookies["pw_session"]
            fleet = c.get("/fleet")
            assert fleet.status_code == 200
            csrf = csrf_of(fleet.text)
    finally:
        stopped(proc)
    path = state / SESSIONS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cookie not in path.read_text() and token_hash(cookie) in path.read_text()
    [entry] = stored(path)
    # the login was written at once; the /fleet request's seen time (within the minute) only by
    # the shutdown's write
    assert entry["seen"] > entry["created"]

    proc = started()  # the restart: the same cookie, no new login
    try:
        with httpx.Client(base_url=url, follow_redirects=False, cookies={"pw_session": cookie}) as c:
            fleet = c.get("/fleet")
            assert fleet.status_code == 200, fleet.headers.get("location")
            assert csrf_of(fleet.text) == csrf  # the same session, its CSRF token too
            out = c.post("/logout", data={"csrf": csrf})
            assert out.status_code == 303 and out.headers["location"] == "/login"
            c.cookies.set("pw_session", cookie)  # a copy of the cookie kept by someone
            assert c.get("/fleet").status_code == 303
    finally:
        stopped(proc)
    assert stored(path) == []

    proc = started()  # after another restart the logged-out cookie is still no session
    try:
        with httpx.Client(base_url=url, follow_redirects=False, cookies={"pw_session": cookie}) as c:
            r = c.get("/fleet")
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    finally:
        stopped(proc)

"""The dashboard's doors, over real HTTP against the appliance on the simulator: nothing but the
login and /health without a session; the first-run password must be changed; CSRF on every form;
a burst of wrong passwords is slowed; /metrics and the API for machines only."""

from __future__ import annotations

import datetime as dt
import re
import stat
import time

import httpx
import pytest
from printwatch.uplink import log as uplink_log

from tests.support.dashboard import csrf_of, log_in, login_token
from tests.web.appliance_thread import Running

pytestmark = pytest.mark.realtime

PAGES = [
    "/",
    "/fleet",
    "/fleet?sort=supply",
    "/printer/1",
    "/alerts",
    "/discovery",
    "/settings",
    "/uplink",
    "/uplink/1",
    "/static/app.css",
]
NEW_PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def changed(dash: Running) -> str:
    """Logs in with the first-run password, which leads to /settings until it is changed."""
    first_file = dash.state_dir / "first-password.txt"  # where `printwatch run` points to
    assert first_file.read_text().strip() == dash.first_password
    assert stat.S_IMODE(first_file.stat().st_mode) == 0o600
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        r = log_in(c, dash.first_password)
        assert r.status_code == 303 and r.headers["location"] == "/settings"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain HTTP
        # every page but settings sends a user who must change the password back there
        assert c.get("/fleet").headers["location"] == "/settings"
        page = c.get("/settings")
        assert page.status_code == 200 and "first-run password" in page.text
        csrf = csrf_of(page.text)
        bad = c.post(
            "/settings/password",
            data={"current": dash.first_password, "new": "short", "again": "short", "csrf": csrf},
        )
        assert bad.status_code == 400 and "10 characters" in bad.text
        ok = c.post(
            "/settings/password",
            data={"current": dash.first_password, "new": NEW_PASSWORD, "again": NEW_PASSWORD, "csrf": csrf},
        )
        assert ok.status_code == 200 and "Password changed" in ok.text
        assert c.get("/fleet").status_code == 200
    mode = stat.S_IMODE((dash.state_dir / "web-password.json").stat().st_mode)
    assert mode == 0o600
    assert dash.first_password not in (dash.state_dir / "web-password.json").read_text()
    assert not first_file.exists()  # gone with the password it held
    return NEW_PASSWORD


def test_every_page_without_a_session_redirects_to_login(dash: Running) -> None:
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login?next="), path
        for path in ("/logout", "/discovery/add", "/settings/password"):
            r = c.post(path, data={"target": "10.0.0.1"})
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        # a forged or stale cookie is no session
        c.cookies.set("pw_session", "forged")
        assert c.get("/fleet").status_code == 303
        assert c.get("/health").status_code == 200
        login = c.get("/login")
        assert login.status_code == 200 and "Password" in login.text
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert login.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in login.headers  # plain HTTP (on loopback): no HSTS


def test_forms_without_their_csrf_token_are_refused(dash: Running, changed: str) -> None:
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        # the login form itself: without its token, or with a token not matching its cookie
        r = c.post("/login", data={"user": "admin", "password": changed})
        assert r.status_code == 403 and "pw_session" not in r.headers.get("set-cookie", "")
        login_token(c)
        r = c.post("/login", data={"user": "admin", "password": changed, "csrf": "not-the-token"})
        assert r.status_code == 403
        assert log_in(c, changed).status_code == 303
        csrf = csrf_of(c.get("/fleet").text)
        targets_before = dash.store.targets()
        for path, data in (
            ("/discovery/add", {"target": "127.0.0.9"}),
            ("/settings/password", {"current": changed, "new": "x" * 12, "again": "x" * 12}),
            ("/logout", {}),
        ):
            assert c.post(path, data=data).status_code == 403, path
            assert c.post(path, data={**data, "csrf": "wrong"}).status_code == 403, path
        assert dash.store.targets() == targets_before  # nothing was added
        assert c.get("/fleet").status_code == 200  # still logged in: the logout was refused too
        # the assist API from a browser session: the CSRF header is required
        address = dash.sim.first
        r = c.post(f"/api/assist/{address}", headers={"origin": dash.url})
        assert r.status_code == 401
        r = c.post(f"/api/assist/{address}", headers={"origin": dash.url, "x-csrf-token": csrf})
        assert r.status_code == 200 and r.json()["reachable"] is True
        # with the token the forms work: add a printer by address, log out
        r = c.post("/discovery/add", data={"target": "127.0.0.9", "csrf": csrf})
        assert r.status_code == 200 and "Added 127.0.0.9" in r.text
        assert "127.0.0.9" in dash.store.targets()
        r = c.post("/discovery/add", data={"target": "localhost", "csrf": csrf})  # by name (/etc/hosts)
        assert r.status_code == 200 and "Added localhost (127.0.0.1)" in r.text
        r = c.post("/discovery/add", data={"target": "bad name!", "csrf": csrf})
        assert r.status_code == 400 and "neither an IPv4 address nor a host name" in r.text
        assert c.post("/logout", data={"csrf": csrf}).status_code == 303
        assert c.get("/fleet").status_code == 303


def test_a_burst_of_wrong_passwords_is_slowed(dash: Running, changed: str) -> None:
    throttle = dash.setup.dashboard.throttle
    # The throttle's clock stands still for the burst: on a loaded machine the real one moved
    # past a delay between two attempts, and an attempt was checked (401) where 429 was due.
    now = [time.monotonic()]
    real_clock, throttle.clock = throttle.clock, lambda: now[0]
    try:
        with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
            codes = [log_in(c, f"guess-{n}").status_code for n in range(12)]
            # five free failures, then every attempt waits (1 s, then twice as long after each
            # failure): refused unchecked (429) until the wait is over
            assert codes == [401] * 5 + [429] * 7
            r = log_in(c, changed)  # even the right password, while throttled
            assert r.status_code == 429 and int(r.headers["retry-after"]) == 1
            assert "pw_session" not in r.headers.get("set-cookie", "")
            now[0] += 1.0  # the wait is over: one more attempt is checked, and counted
            assert [log_in(c, "guess-12").status_code, log_in(c, "guess-13").status_code] == [401, 429]
            assert int(log_in(c, changed).headers["retry-after"]) == 2  # twice as long
            now[0] += 2.0
            assert log_in(c, changed).status_code == 303  # the right one, once its turn came
    finally:
        throttle.clock = real_clock
        throttle.succeeded("127.0.0.1")  # (the other tests log in from the same address)
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        assert log_in(c, changed).status_code == 303


def test_metrics_and_the_api_are_for_the_loopback_or_a_token(dash: Running) -> None:
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        # no token configured: a loopback client without a browser's Origin (a scraper, the CLI)
        r = c.get("/metrics")
        assert r.status_code == 200 and "printwatch_devices" in r.text
        assert c.get("/metrics", headers={"origin": "http://evil.example"}).status_code == 401
        r = c.post(f"/api/assist/{dash.sim.first}", headers={"origin": "http://evil.example"})
        assert r.status_code == 401
    dashboard = dash.setup.dashboard
    dashboard.api_token = "t" * 32
    try:
        with httpx.Client(base_url=dash.url) as c:
            assert c.get("/metrics").status_code == 401  # with a token configured, loopback is not enough
            assert c.get("/metrics", headers={"authorization": "Bearer " + "x" * 32}).status_code == 401
            assert c.get("/metrics", headers={"authorization": "Bearer " + "t" * 32}).status_code == 200
    finally:
        dashboard.api_token = None


def test_a_sweep_from_the_discovery_page_files_the_printers_it_finds(dash: Running, changed: str) -> None:
    with httpx.Client(base_url=dash.url, follow_redirects=False, timeout=120) as c:
        assert log_in(c, changed).status_code == 303
        csrf = csrf_of(c.get("/discovery").text)
        network = "127.22.0.0/27"  # the simulated printers (.1 to .20) and silent addresses beside them
        form = {"networks": network, "port": str(dash.sim.port)}
        assert c.post("/discovery/sweep", data=form).status_code == 403  # no CSRF token
        r = c.post("/discovery/sweep", data={**form, "csrf": csrf})
        assert r.status_code == 200, r.text
        shown = r.text[r.text.find("<h1>") : r.text.find("Add a printer")]
        # the network and broadcast addresses are not swept; the agents are the simulated printers
        # that answer, the printers those that discovery identifies as printers (its rules)
        m = re.search(r"Swept 30 addresses in [\d.]+ s \(done\): (\d+) SNMP agents, (\d+) printers", shown)
        assert m, shown
        answering = {d["target"].split(":")[0] for d in dash.appliance.fleet.values() if d.get("reachable")}
        # (the simulator's dynamics take a printer offline now and then: one sweep may miss one)
        assert len(answering) - 2 <= int(m.group(1)) <= dash.sim.count
        found = re.findall(r"<tr><td>(127\.22\.0\.\d+)</td>.*?<td>(\w+)</td><td><a href", shown)
        assert len(found) == int(m.group(2)) >= 5
        assert all(a.startswith("127.22.0.") and 1 <= int(a.rsplit(".", 1)[1]) <= 20 for a, _ in found)
        assert {outcome for _, outcome in found} <= {"known", "added_address"}  # the registry knew them
        for bad, why in (("10.0.0.0/8", "a sweep from the dashboard covers 4,096 at most"),
                         ("10.0.0.300", "is not an IPv4 address or range")):  # fmt: skip
            r = c.post("/discovery/sweep", data={"networks": bad, "port": "161", "csrf": csrf})
            assert r.status_code == 400 and why in r.text


def test_the_uplink_page_shows_every_transmission_byte_for_byte(dash: Running, changed: str) -> None:
    """Rows written with the uplink's own log writer: listed newest first with the chain's verdict,
    each one's request and response bytes in a hex dump; an edited row breaks the chain there."""
    con = dash.store.con.cursor()
    when = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    request = b"POST /upload HTTP/1.1\r\nhost: collector\r\n\r\n\x78\x9c\x00\xff<b>"
    for seq in (1, 2):
        uplink_log.append(
            con, time=when, seq=seq, kind="aggregate", url="https://collector.example/upload",
            status=200, error=None, request=request + bytes([seq]), response=b"HTTP/1.1 200 OK\r\n\r\n",
        )  # fmt: skip
    with httpx.Client(base_url=dash.url, follow_redirects=False) as c:
        assert log_in(c, changed).status_code == 303
        listing = c.get("/uplink")
        assert listing.status_code == 200 and "The hash chain is whole" in listing.text
        assert listing.text.index('href="/uplink/2"') < listing.text.index('href="/uplink/1"')
        one = c.get("/uplink/2")
        assert one.status_code == 200 and f"Request: {len(request) + 1:,} bytes" in one.text
        # the hex dump gives back every byte; its text column is escaped (no markup gets through)
        dump = re.search(r"<pre id=request>(.*?)</pre>", one.text, re.S)
        assert dump is not None
        shown = bytes.fromhex("".join(line[10:57] for line in dump.group(1).splitlines()))
        assert shown == request + b"\x02" and "&lt;b" in one.text and "<b>" not in one.text
        assert c.get("/uplink/99").status_code == 404
        con.execute("UPDATE uplink_log SET status = 500 WHERE n = 1")
        broken = c.get("/uplink")
        assert "The hash chain is broken" in broken.text and "row 1" in broken.text
    con.execute("DELETE FROM uplink_log")

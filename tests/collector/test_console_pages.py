"""The console's pages as an attacker and as each role would use them (issue 22): real HTTPS
with the test's CA, sites and devices that arrived through the real enrolment and uploads, on
both backends (``collector_store``). Every attack defended is a test here: no credential, a
customer guessing another site's id or device numbers (pages, JSON, CSV, messages), CSRF,
session fixation, a revoked token, a removed user, an oversized login, the login throttle."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import httpx
import trio
from printwatch.collector import views
from printwatch.collector.console import data
from printwatch.collector.enrolment import add_site
from printwatch.collector.roles import Principal
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token, list_tokens, revoke_token
from printwatch.collector.users import add_user, remove_user
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint, post

from tests.support.collector import RunningCollector, start_collector
from tests.support.console import FAST, PASSWORD, field, log_in
from tests.support.console import client as https_client
from tests.support.fakes import contract_doc
from tests.support.tls import Certs, make_certs

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"


def collector_now() -> dt.datetime:
    return (T0 + dt.timedelta(hours=1)).replace(tzinfo=None)


async def appliance(tmp_path: Path, endpoint: Endpoint, store: CollectorStore, site: str, octet: int) -> None:
    """A site enrolled by a real appliance's outbox, with one printer registered and read."""
    token = add_site(
        store, site, now=T0.replace(tzinfo=None), contact=f"boss@{site}.example", name=site.title()
    )
    box = Outbox(tmp_path / f"{site}.duckdb", Identity.generate(), site)
    await enrol(box, endpoint, token, now=T0)
    doc = contract_doc((f"10.1.0.{octet}", 161), 5, T0)
    serial = doc["serial"]
    entry, _ = box.number(f"serial:{serial}", {"serial": serial, "model": "Fake 7835", "supplies": []})
    register = {"appliance": {"version": "9.9.9"}, "devices": [{"n": entry.n, **entry.info}]}
    box.enqueue("register", register, T0, devices=[entry])
    box.enqueue("billing", {"cycle": "2026-11-01", "r": [[entry.n, doc["meters"]]]}, T0)
    while (head := box.head()) is not None:
        answer = await post(endpoint, "/v1/upload", head.envelope, ENVELOPE)
        assert answer.status == 200, answer.body
        box.acknowledge(head.seq)
    box.close()


def client(certs: Certs, collector: RunningCollector, token: str | None = None) -> httpx.AsyncClient:
    return https_client(certs, collector.url, token)


async def test_a_customer_sees_its_own_sites_only_however_it_asks(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    collector = await start_collector(nursery, store, certs, now=collector_now)
    await appliance(tmp_path, collector.endpoint(), store, "acme-1", 11)
    await appliance(tmp_path, collector.endpoint(), store, "globex", 22)
    add_user(store, "acme", PASSWORD, "customer", sites=["acme-1"], now=collector_now(), password_hash=FAST)
    add_user(store, "desk", PASSWORD, "viewer", now=collector_now(), password_hash=FAST)
    async with client(certs, collector) as anyone:
        r = await anyone.get("/console/sites")
        assert r.status_code == 303 and r.headers["location"] == "/console/login?next=%2Fconsole%2Fsites"
        for path in ("/console/sites.json", "/console/sites.csv", "/console/devices/globex/1.json"):
            r = await anyone.get(path)
            assert r.status_code == 401 and b"globex" not in r.content, path
    async with client(certs, collector) as acme:
        await log_in(acme, "acme")
        page = (await acme.get("/console/sites")).text
        assert "acme-1" in page and "globex" not in page and "SER00022" not in page
        assert [s["site_id"] for s in (await acme.get("/console/sites.json")).json()] == ["acme-1"]
        devices = list(csv.DictReader(io.StringIO((await acme.get("/console/devices.csv")).text)))
        assert [(d["site_id"], d["serial"]) for d in devices] == [("acme-1", "SER00011")]
        assert [d["serial"] for d in (await acme.get("/console/devices.json?q=SER")).json()] == ["SER00011"]
        own = (await acme.get("/console/devices/acme-1/1.json")).json()
        assert own["device"]["serial"] == "SER00011" and own["meters"]
        html = (await acme.get("/console/devices/acme-1/1")).text
        assert '<svg class="chart"' in html and "SER00011" in html
        assert (await acme.get("/console/sites/acme-1/messages/1.json")).json()["kind"] == "register"
        sent = list(csv.DictReader(io.StringIO((await acme.get("/console/sites/acme-1/messages.csv")).text)))
        assert [(m["seq"], m["kind"]) for m in sent] == [("2", "billing"), ("1", "register")]
        # guessing: another's site, its devices, its messages, its CSV, its JSON, the API
        for path in (
            "/console/sites/globex", "/console/sites/globex.json", "/console/devices/globex/1",
            "/console/devices/globex/1.json", "/console/devices.csv?site=globex",
            "/console/devices.json?site=globex", "/console/sites/globex/messages/1.json",
            "/api/devices?site=globex", "/api/sites?site=globex", "/console/sites/globex/messages.csv",
            "/console/sites/globex/messages.json",
        ):  # fmt: skip
            r = await acme.get(path)
            assert (
                r.status_code == 404 and b"SER00022" not in r.content and b"boss@globex" not in r.content
            ), path
        assert (await acme.get("/console/devices/acme-1/2.json")).status_code == 404
        assert (await acme.get("/console/devices/acme-1/x1.json")).status_code == 404
        assert (await acme.get("/console/enrolment")).status_code == 403
        assert [s["site_id"] for s in (await acme.get("/api/sites")).json()] == ["acme-1"]
    async with client(certs, collector) as desk:
        await log_in(desk, "desk")
        assert {s["site_id"] for s in (await desk.get("/console/sites.json")).json()} == {"acme-1", "globex"}
        health = (await desk.get("/console/sites/globex.json")).json()["site"]
        assert health["devices"] == 1 and health["last_seq"] == 2 and health["sequence_gaps"] == 0
        assert health["version"] == "9.9.9" and health["bytes_today"] > 0 and health["lag_s"] is not None
        assert (await desk.get("/console/enrolment")).status_code == 403
    customer_token = create_token(store, "acme erp", "customer", sites=["acme-1"], now=collector_now())
    async with client(certs, collector, customer_token) as erp:
        assert [s["site_id"] for s in (await erp.get("/console/sites.json")).json()] == ["acme-1"]
        assert (await erp.get("/console/devices/globex/1.json")).status_code == 404
        revoke_token(store, list_tokens(store)[0].token_id, now=collector_now())
        assert (await erp.get("/console/sites.json")).status_code == 401
    # a month on: every site's read of the new cycle is missing, counted as `collector missing` does
    later = collector_now() + dt.timedelta(days=31)
    staff = Principal("desk", "viewer", "user", None)
    health = {s["site_id"]: s["missing_reads"] for s in data.sites_health(store.con, staff, later)}
    assert (
        health
        == {site: len(views.missing(store.con, site, later)) for site in health}
        == {"acme-1": 1, "globex": 1}
    )
    await collector.stop()
    store.close()


async def test_csrf_session_fixation_logout_and_removal(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    collector = await start_collector(nursery, store, certs, now=collector_now)
    add_user(store, "root", PASSWORD, "admin", now=collector_now(), password_hash=FAST)
    async with client(certs, collector) as c:
        # fixation: a cookie planted before the login never becomes the session
        c.cookies.set("pwc_session", "planted-by-an-attacker", domain="127.0.0.1", path="/")
        form = await c.get("/console/login")
        r = await c.post("/console/login", data={"user": "root", "password": PASSWORD})  # no token
        assert r.status_code == 403
        r = await c.post(
            "/console/login", data={"csrf": field(form.text, "csrf"), "user": "root", "password": PASSWORD}
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=strict" in cookie.lower()
        session = c.cookies.get("pwc_session", domain="127.0.0.1")
        assert session and session != "planted-by-an-attacker"
        page = await c.get("/console/enrolment")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)[1]  # type: ignore[index]
        # a cross-site form: no CSRF token, nothing made
        r = await c.post("/console/enrolment/add", data={"site_id": "evil"})
        assert r.status_code == 403 and "evil" not in (await c.get("/console/enrolment")).text
        r = await c.post(
            "/console/enrolment/add", data={"site_id": "evil"}, headers={"X-CSRF-Token": "wrong"}
        )
        assert r.status_code == 403
        r = await c.post(
            "/console/enrolment/add", data={"csrf": csrf, "site_id": "branch-9", "name": "<b>x</b>"}
        )
        assert r.status_code == 200 and "branch-9" in r.text and "<b>x</b>" not in r.text  # escaped
        token = re.search(r'<code id="token">([^<]+)</code>', r.text)[1]  # type: ignore[index]
        assert token not in (await c.get("/console/enrolment")).text  # shown once
        assert token not in (await c.get("/console/enrolment.json")).text
        r = await c.post("/console/enrolment/revoke", data={"csrf": csrf, "site_id": "branch-9"})
        assert r.status_code == 200
        # the admin API through a session: its token in the header, not a form field (whose
        # body nothing outside /console bounds before it is read)
        r = await c.post("/api/admin/site.add", data={"csrf": csrf, "site_id": "branch-8"})
        assert r.status_code == 403
        r = await c.post("/api/admin/site.add", json={"site_id": "branch-8"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["site_id"] == "branch-8"
        appliance_box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "branch-9")
        with trio.fail_after(30):
            try:
                await enrol(appliance_box, collector.endpoint(), token, now=T0)
                raise AssertionError("a revoked enrolment token enrolled")
            except Exception as err:
                assert "403" in str(err)
        # replacing the appliance: a new token enrols the new one
        r = await c.post("/console/enrolment/token", data={"csrf": csrf, "site_id": "branch-9"})
        fresh = re.search(r'<code id="token">([^<]+)</code>', r.text)[1]  # type: ignore[index]
        assert await enrol(appliance_box, collector.endpoint(), fresh, now=T0)
        appliance_box.close()
        # logout needs the token too; afterwards the cookie is nothing
        assert (await c.post("/console/logout")).status_code == 403
        assert (await c.post("/console/logout", data={"csrf": csrf})).status_code == 303
        c.cookies.set("pwc_session", session, domain="127.0.0.1", path="/")
        assert (await c.get("/console/sites.json")).status_code == 401
        # a removed user's session ends at its next request
        await log_in(c, "root")
        remove_user(store, "root")
        assert (await c.get("/console/sites.json")).status_code == 401
    await collector.stop()
    store.close()


async def test_the_login_refuses_floods_and_oversized_forms(tmp_path: Path, nursery: trio.Nursery) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "c.duckdb")
    collector = await start_collector(nursery, store, certs, now=collector_now)
    add_user(store, "ann", PASSWORD, "billing", now=collector_now(), password_hash=FAST)
    async with client(certs, collector) as c:
        form = await c.get("/console/login")
        csrf = field(form.text, "csrf")
        big = await c.post("/console/login", data={"csrf": csrf, "user": "ann", "password": "x" * 40_000})
        assert big.status_code == 413
        statuses = []
        for _ in range(7):
            r = await c.post(
                "/console/login", data={"csrf": csrf, "user": "ann", "password": "wrong password"}
            )
            statuses.append(r.status_code)
        assert statuses[:5] == [401] * 5 and statuses[-1] == 429
        r = await c.post("/console/login", data={"csrf": csrf, "user": "ann", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1  # even the right password waits
    await collector.stop()
    store.close()


async def test_the_admin_manages_users_and_tokens_on_the_access_page(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "c.duckdb")
    add_site(store, "acme-1", now=collector_now())
    collector = await start_collector(nursery, store, certs, now=collector_now)
    add_user(store, "root", PASSWORD, "admin", now=collector_now(), password_hash=FAST)
    add_user(store, "desk", PASSWORD, "viewer", now=collector_now(), password_hash=FAST)
    async with client(certs, collector) as desk:
        await log_in(desk, "desk")
        assert (await desk.get("/console/access")).status_code == 403
        assert (await desk.get("/console/access.json")).status_code == 403
    async with client(certs, collector) as c:
        csrf = await log_in(c, "root")
        new = {"csrf": csrf, "username": "acme", "role": "customer", "sites": "acme-1", "password": PASSWORD}
        r = await c.post("/console/access/user-add", data={**new, "again": PASSWORD + "x"})
        assert r.status_code == 400 and "differ" in r.text
        r = await c.post("/console/access/user-add", data={**new, "again": PASSWORD, "sites": "globex"})
        assert r.status_code == 400 and "no site" in r.text
        r = await c.post("/console/access/user-add", data={k: v for k, v in new.items() if k != "csrf"})
        assert r.status_code == 403  # no CSRF token: nothing added
        r = await c.post("/console/access/user-add", data={**new, "again": PASSWORD})
        assert r.status_code == 200 and PASSWORD not in r.text
        users = {u["username"]: u for u in (await c.get("/console/access.json")).json()["users"]}
        assert users["acme"]["role"] == "customer" and users["acme"]["sites"] == ["acme-1"]
        r = await c.post("/console/access/token-add", data={"csrf": csrf, "name": "erp", "role": "billing"})
        secret = re.search(r'<code id="token">([^<]+)</code>', r.text)[1]  # type: ignore[index]
        listed = (await c.get("/console/access.json")).json()["tokens"]
        assert secret not in str(listed) and listed[0]["role"] == "billing"
        async with client(certs, collector, secret) as erp:
            assert (await erp.get("/console/sites.json")).status_code == 200
            r = await c.post(
                "/console/access/token-revoke", data={"csrf": csrf, "token_id": listed[0]["token_id"]}
            )
            assert r.status_code == 200
            assert (await erp.get("/console/sites.json")).status_code == 401
        r = await c.post("/console/access/user-remove", data={"csrf": csrf, "username": "acme"})
        left = [u["username"] for u in (await c.get("/console/access.json")).json()["users"]]
        assert r.status_code == 200 and left == ["desk", "root"]
    await collector.stop()
    store.close()

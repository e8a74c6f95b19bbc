"""Who may read the collector: users and API tokens with roles, a customer's site scope, and
the tokens made before roles (issue 22). On both backends (``collector_store``), through the
real HTTPS server (tests/support/collector.py) with real certificates."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import httpx
import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.roles import Principal
from printwatch.collector.storage.duck import MIGRATIONS
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import check_token, create_token, list_tokens, revoke_token
from printwatch.collector.users import (
    add_user,
    close_session,
    list_users,
    open_session,
    remove_user,
    session_of,
    set_password,
)
from printwatch.store import current_version
from printwatch.web.auth.passwords import hash_password
from printwatch.web.auth.sessions import network_of

from tests.support.collector import start_collector
from tests.support.console import attempt, client
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 3, 2, 9, 0)
PASSWORD = "correct horse battery"


def now() -> dt.datetime:
    return T0


def test_a_read_token_of_before_roles_is_a_viewer_after_migration_5(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    current_version(con)
    for version, description, sql in MIGRATIONS[:4]:  # the store as printwatch left it before roles
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, T0])
    secret = "pwc_" + "x" * 43  # a token it made: its hash and its 'read' scope
    digest = hashlib.sha256(secret.encode()).digest()
    con.execute(
        "INSERT INTO api_tokens (token_id, name, token_hash, scopes, created_at) VALUES (?, ?, ?, 'read', ?)",
        [digest.hex()[:12], "old script", digest, T0],
    )
    con.close()
    with CollectorStore(path) as store:
        assert store.con.execute("SELECT max(version) FROM schema_version").fetchone()[0] >= 5
        assert check_token(store, secret, now=T0) == Principal("old script", "viewer", "token", None)


def test_users_tokens_and_sessions_keep_their_role_and_scope(collector_store: str | Path) -> None:
    with CollectorStore(collector_store) as store:
        for site in ("acme-1", "acme-2", "globex"):
            add_site(store, site, now=T0)
        add_user(store, "ann", PASSWORD, "billing", now=T0)
        add_user(store, "acme", PASSWORD, "customer", sites=["acme-1", "acme-2"], now=T0)
        for bad, why in (
            (("bob", "short", "viewer", ()), "at least"),
            (("bob", PASSWORD, "root", ()), "role"),
            (("bob", PASSWORD, "customer", ()), "needs its sites"),
            (("bob", PASSWORD, "viewer", ("acme-1",)), "customers only"),
            (("bob", PASSWORD, "customer", ("initech",)), "no site"),
            (("ann", PASSWORD, "viewer", ()), "exists"),
            (("-x", PASSWORD, "viewer", ()), "user name"),
        ):
            with pytest.raises(ValueError, match=why):
                add_user(store, bad[0], bad[1], bad[2], sites=bad[3], now=T0)
        assert [(u.username, u.role, u.sites) for u in list_users(store)] == [
            ("acme", "customer", ("acme-1", "acme-2")),
            ("ann", "billing", ()),
        ]
        assert "scrypt$" in store.con.execute("SELECT password_hash FROM users").fetchone()[0]
        cookie, csrf = open_session(store, "acme", now=T0)
        found = session_of(store, cookie, now=T0 + dt.timedelta(hours=7))
        assert found == (Principal("acme", "customer", "user", frozenset({"acme-1", "acme-2"})), csrf)
        assert session_of(store, cookie, now=T0 + dt.timedelta(hours=16)) is None  # idle 9 h
        cookie, _ = open_session(store, "acme", now=T0)
        assert session_of(store, cookie + "x", now=T0) is None
        set_password(store, "acme", PASSWORD + "!", now=T0)  # ends every session of the user
        assert session_of(store, cookie, now=T0) is None
        cookie, _ = open_session(store, "ann", now=T0)
        close_session(store, cookie)
        assert session_of(store, cookie, now=T0) is None
        cookie, _ = open_session(store, "ann", now=T0)
        remove_user(store, "ann")
        assert session_of(store, cookie, now=T0) is None
        secret = create_token(store, "acme erp", "customer", sites=["acme-2"], now=T0)
        assert check_token(store, secret, now=T0) == Principal(
            "acme erp", "customer", "token", frozenset({"acme-2"})
        )
        [listed] = list_tokens(store)
        assert (listed.role, listed.sites) == ("customer", ("acme-2",))
        assert secret not in repr(store.con.execute("SELECT * FROM api_tokens").fetchall())
        revoke_token(store, listed.token_id, now=T0)
        assert check_token(store, secret, now=T0) is None


async def test_no_api_answers_without_a_credential_and_a_customer_sees_its_own_sites_only(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    for site in ("acme-1", "globex"):
        add_site(store, site, now=T0, contact=f"boss@{site}.example")
    customer = create_token(store, "acme", "customer", sites=["acme-1"], now=T0)
    viewer = create_token(store, "desk", "viewer", now=T0)
    collector = await start_collector(nursery, store, certs, now=now)
    async with client(certs, collector.url) as anyone:
        for path in ("/api/sites", "/api/devices?site=globex"):
            r = await anyone.get(path)
            assert r.status_code == 401 and b"boss@" not in r.content, path
    async with client(certs, collector.url, viewer) as desk:
        answer = await desk.get("/api/sites")
        assert {s["site_id"] for s in answer.json()} == {"acme-1", "globex"}
        # the API's answers carry the security headers as the console's do, each once
        for r in (answer, await desk.get("/console/login")):
            headers = r.headers.multi_items()
            for name in ("content-security-policy", "x-content-type-options", "strict-transport-security"):
                assert [k for k, _ in headers].count(name) == 1, (r.url, name)
    async with client(certs, collector.url, customer) as acme:
        assert [s["site_id"] for s in (await acme.get("/api/sites")).json()] == ["acme-1"]
        for view in ("sites", "devices", "reads", "counters", "reorders", "missing"):
            r = await acme.get(f"/api/{view}?site=globex")  # another's site: as if it did not exist
            assert r.status_code == 404 and b"boss@globex" not in r.content
            unknown = await acme.get(f"/api/{view}?site=initech")
            assert (unknown.status_code, unknown.text.replace("initech", "globex")) == (404, r.text)
    await collector.stop()
    store.close()


async def test_the_admin_api_refuses_what_is_not_an_admins_well_formed_request(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "c.duckdb")
    admin = create_token(store, "ops", "admin", now=T0)
    viewer = create_token(store, "desk", "viewer", now=T0)
    collector = await start_collector(nursery, store, certs, now=now)
    async with client(certs, collector.url, admin) as ops:
        op = "/api/admin/site.add"
        for body, status in (
            (b"{not json", 400),
            (b"[1, 2]", 400),
            (b'{"site_id": 7}', 400),
            (b'{"site_id": "../../etc"}', 400),
            (b'{"site_id": "a", "valid_days": 1e309}', 400),
            (b'{"site_id": "a", "pad": "' + b"x" * 70_000 + b'"}', 413),
            (b"[" * 100_000 + b"]" * 100_000, 413),
        ):
            r = await ops.post(op, content=body, headers={"content-type": "application/json"})
            assert r.status_code == status and "error" in r.json(), (body[:40], r.text)
        assert (await ops.post("/api/admin/drop.tables", json={})).status_code == 404
        assert store.con.execute("SELECT count(*) FROM sites").fetchone()[0] == 0
        # a hash sent along is never stored: the server hashes the password itself
        r = await ops.post(
            "/api/admin/user.add",
            json={
                "username": "eve",
                "password": PASSWORD,
                "role": "viewer",
                "password_hash": "scrypt$1$1$1$AA==$AA==",
            },
        )
        assert r.status_code == 200, r.text
        stored = store.con.execute("SELECT password_hash FROM users WHERE username = 'eve'").fetchone()[0]
        assert stored.startswith("scrypt$") and "AA==" not in stored
        r = await ops.post("/api/admin/site.add", json={"site_id": "branch-1"})
        assert r.status_code == 200 and r.json()["token"]
    async with client(certs, collector.url, viewer) as desk:
        r = await desk.post(
            "/api/admin/user.add", json={"username": "x", "password": PASSWORD, "role": "admin"}
        )
        assert r.status_code == 403 and store.con.execute("SELECT count(*) FROM users").fetchone()[0] == 1
        # search text is text: SQL wildcards and quotes match themselves
        for q in ("%", "_", "' OR 1=1 --", "\\"):
            r = await desk.get("/console/devices.json", params={"q": q})
            assert r.status_code == 200 and r.json() == []
    await collector.stop()
    store.close()


def test_an_unknown_user_costs_a_hash_at_todays_costs() -> None:
    """No timing tells which user names exist: the login of an unknown one checks a hash made
    with the same scrypt costs as every stored password."""
    from printwatch.collector import users
    from printwatch.web.auth.passwords import SCRYPT_N, SCRYPT_P, SCRYPT_R

    assert users.password_matches(PASSWORD, None) is False
    assert users._dummy_hash().split("$")[1:4] == [str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P)]


def test_devices_answering_counts_each_sites_latest_day_of_the_last_week(collector_store: str | Path) -> None:
    from printwatch.collector.console import data

    with CollectorStore(collector_store) as store:
        for site in ("acme-1", "globex", "initech"):
            add_site(store, site, now=T0)
        day = dt.timedelta(days=1)
        rows = [  # (site, device, day, answered): acme-1's latest day has 2 of 3 answering
            ("acme-1", 1, T0 - 2 * day, 4), ("acme-1", 2, T0 - 2 * day, 4), ("acme-1", 3, T0 - 2 * day, 4),
            ("acme-1", 1, T0 - day, 4), ("acme-1", 2, T0 - day, 1), ("acme-1", 3, T0 - day, 0),
            ("globex", 1, T0 - 30 * day, 4),  # nothing in the last week: unknown
        ]  # fmt: skip
        with store.transaction() as con:
            for site, n, time, answered in rows:
                con.execute(
                    "INSERT INTO device_days VALUES (?, ?, ?, 4, ?, 'r', 1)", [site, n, time, answered]
                )
        staff = Principal("desk", "viewer", "user", None)
        found = {s["site_id"]: s["devices_answering"] for s in data.sites_health(store.con, staff, T0)}
        assert found == {"acme-1": 2, "globex": None, "initech": None}
        customer = Principal("acme", "customer", "user", frozenset({"globex"}))
        assert [s["site_id"] for s in data.sites_health(store.con, customer, T0)] == ["globex"]


async def _attempt(c: httpx.AsyncClient, user: str, password: str) -> int:
    return (await attempt(c, user, password)).status_code


async def test_logging_in_to_ones_own_account_forgives_no_guesses_at_anothers(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """A security review's attack: a customer guesses the admin's password a few times, logs in
    to its own account (which used to forgive every failure of its address), and guesses again.
    Failures now count per address and user and per user: its own login forgives only its own."""
    store = CollectorStore(tmp_path / "c.duckdb")
    add_site(store, "acme-1", now=T0)
    fast = hash_password(PASSWORD, n=2**14)
    add_user(store, "admin", PASSWORD, "admin", now=T0, password_hash=fast)
    add_user(store, "acme", PASSWORD, "customer", sites=["acme-1"], now=T0, password_hash=fast)
    certs = make_certs(tmp_path)
    collector = await start_collector(nursery, store, certs, now=now)
    guesses = []
    async with client(certs, collector.url) as c:
        for _ in range(6):
            guesses += [await _attempt(c, "admin", f"guess {len(guesses)}") for _ in range(2)]
            assert await _attempt(c, "acme", PASSWORD) == 303  # its own account still logs in
    # the waits double from the sixth failure (1, 2, 4, 8 s...): some guess meets one, however
    # slow the machine (before, each own login forgave all and none ever did)
    assert guesses[:5] == [401] * 5 and 429 in guesses, guesses
    await collector.stop()
    store.close()


def test_the_throttle_counts_an_ipv6_customer_line_as_one_address() -> None:
    assert network_of("2001:db8:5::1") == network_of("2001:db8:5::ffff:7") == "2001:db8:5::/64"
    assert network_of("2001:db8:6::1") != network_of("2001:db8:5::1")
    assert network_of("192.0.2.7") == "192.0.2.7" and network_of("?") == "?"

"""API tokens expire (issue 22): 90 days by default, or the life given when the token is made
(``--expires-days``, the admin API's ``expires_days``, the Access page's field); an expired token
is answered 401 saying so, on both backends and through the real HTTPS server, on the test's
clock (never the real date). Tokens made before expiry existed (migration 10) keep none."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

import duckdb
import pytest
import trio
from printwatch.collector import admin
from printwatch.collector.enrolment import add_site
from printwatch.collector.storage.duck import MIGRATIONS
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import TokenExpired, check_token, create_token, list_tokens, revoke_token
from printwatch.collector.users import add_user
from printwatch.store import current_version

from tests.support.collector import start_collector
from tests.support.console import FAST, PASSWORD, client, log_in
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 3, 2, 9, 0)
DAY = dt.timedelta(days=1)


def test_a_token_answers_until_its_life_ends(collector_store: str | Path) -> None:
    with CollectorStore(collector_store) as store:
        add_site(store, "acme-1", now=T0)
        default = create_token(store, "erp", "billing", now=T0)
        short = create_token(store, "acme", "customer", sites=["acme-1"], now=T0, expires_days=7)
        listed = {t.name: t for t in list_tokens(store)}
        assert listed["erp"].expires_at == T0 + 90 * DAY
        assert listed["acme"].expires_at == T0 + 7 * DAY
        assert check_token(store, short, now=T0 + 7 * DAY - dt.timedelta(seconds=1)) is not None
        with pytest.raises(TokenExpired, match=r"'acme' expired at 2026-03-09T09:00:00Z"):
            check_token(store, short, now=T0 + 7 * DAY)
        assert check_token(store, default, now=T0 + 89 * DAY) is not None
        with pytest.raises(TokenExpired):
            check_token(store, default, now=T0 + 90 * DAY)
        # a wrong secret of an expired token's id says nothing about it; a revoked one is refused
        # as revoked, expired or not
        assert check_token(store, short[:-1] + ("A" if short[-1] != "A" else "B"), now=T0 + 30 * DAY) is None
        revoke_token(store, listed["acme"].token_id, now=T0)
        assert check_token(store, short, now=T0 + 30 * DAY) is None
        for life in (0, -1, 0.5, 731, math.nan, math.inf, True):
            with pytest.raises(ValueError, match="expires_days"):
                create_token(store, "bad", now=T0, expires_days=life)
        for given in ("abc", "nan", "1e400", "-3", None, [7], {"a": 1}):
            with pytest.raises(ValueError, match="expires_days"):
                admin.run(store, "token.add", {"name": "bad", "expires_days": given}, now=T0)
        assert {t.name for t in list_tokens(store)} == {"erp", "acme"}  # nothing half made
        made = admin.run(store, "token.add", {"name": "script", "expires_days": "3"}, now=T0)
        assert made["expires_at"] == (T0 + 3 * DAY).isoformat()
        shown = {t["name"]: t for t in admin.run(store, "token.list", {}, now=T0 + 4 * DAY)["tokens"]}
        assert shown["script"]["expired"] and not shown["erp"]["expired"]
        assert shown["script"]["expires_at"] == (T0 + 3 * DAY).isoformat()


def test_tokens_made_before_expiry_keep_answering(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    current_version(con)
    for version, description, sql in MIGRATIONS:
        if version >= 10:  # the store as printwatch left it before tokens expired
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, T0])
    secret = "pwc_" + "y" * 43
    digest = hashlib.sha256(secret.encode()).digest()
    con.execute(
        "INSERT INTO api_tokens (token_id, name, token_hash, scopes, role, created_at) "
        "VALUES (?, ?, ?, 'read', 'viewer', ?)",
        [digest.hex()[:12], "old script", digest, T0],
    )
    con.close()
    with CollectorStore(path) as store:
        assert [t.expires_at for t in list_tokens(store)] == [None]
        assert check_token(store, secret, now=T0 + 3650 * DAY) is not None


async def test_an_expired_token_is_told_so_over_https(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    clock = {"now": T0}
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    add_site(store, "acme-1", now=T0)
    add_user(store, "boss", PASSWORD, "admin", now=T0, password_hash=FAST)
    day = create_token(store, "one day", "viewer", now=T0, expires_days=1)
    year = create_token(store, "one year", "viewer", now=T0, expires_days=365)
    collector = await start_collector(nursery, store, certs, now=lambda: clock["now"])
    async with client(certs, collector.url, day) as c:
        assert (await c.get("/api/sites")).status_code == 200
        clock["now"] = T0 + DAY
        r = await c.get("/api/sites")
        assert r.status_code == 401
        assert "'one day' expired at 2026-03-03T09:00:00Z" in r.json()["error"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    async with client(certs, collector.url, year) as c:
        assert (await c.get("/api/sites")).status_code == 200
    async with client(certs, collector.url, "pwc_" + "z" * 43) as c:  # unknown: the usual answer
        r = await c.get("/api/sites")
        assert r.status_code == 401 and "expired" not in r.text
    async with client(certs, collector.url) as c:
        csrf = await log_in(c, "boss")
        page = await c.get("/console/access")
        row = next(line for line in page.text.splitlines() if "one day" in line)
        assert "expired" in page.text.split("one day", 1)[1].split("</tr>", 1)[0], row
        issued = await c.post(
            "/console/access/token-add",
            data={"csrf": csrf, "name": "weekly", "role": "viewer", "sites": "", "expires_days": "7"},
        )
        assert issued.status_code == 200 and 'id="token"' in issued.text
        shown = (await c.get("/console/access.json")).json()["tokens"]
        assert {t["name"]: t["expires_at"] for t in shown}["weekly"] == (T0 + 8 * DAY).isoformat()
        hostile = await c.post(
            "/console/access/token-add",
            data={"csrf": csrf, "name": "forever", "role": "viewer", "sites": "", "expires_days": "1e9"},
        )
        assert hostile.status_code == 400 and "expires_days" in hostile.text
        assert "forever" not in {t["name"] for t in (await c.get("/console/access.json")).json()["tokens"]}
    await collector.stop()
    store.close()

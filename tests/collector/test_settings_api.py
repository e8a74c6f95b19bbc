"""The console's JSON API for billing, supplies and settings, by role, through the real HTTPS
server (real certificates) on both backends: each role sees and does what it may, a customer
never another customer's site, hostile bodies get a clear 4xx and change nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ssl
from pathlib import Path

import httpx
import pytest
import trio
from printwatch.collector import settings, supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token

from tests.support.collector import FedSite, start_collector
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

NOW = dt.datetime(2026, 11, 3, 9, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"]]


def client(certs: Certs, base: str, token: str | None = None) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base, verify=context, headers=headers, timeout=20.0)


def feed(store: CollectorStore) -> None:
    for name in ("site-a", "site-b"):
        site = FedSite(store, name)
        device = {"n": 1, "serial": f"{name}-S1", "vendor": "HP", "model": "M404", "supplies": LAYOUT}
        site.send("register", {"devices": [device]}, NOW - dt.timedelta(days=40))
        reads = [[1, {"total": 100 if name == "site-a" else 7}]]
        site.send("billing", {"cycle": "2026-11-01", "r": reads}, dt.datetime(2026, 11, 1, 1))
        site.send("reorder", {"t": [[1, 1, 12.0, "low", 6.0]]}, dt.datetime(2026, 11, 2, 1))
    supplies.refresh(store)  # as the upload handler does after a reorder (FedSite skips HTTP)


async def test_billing_supplies_and_settings_by_role(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    feed(store)
    tokens = {
        role: create_token(store, f"{role} desk", role, now=NOW)
        for role in ("billing", "supplies", "support", "viewer")
    }
    tokens["customer"] = create_token(store, "customer b", "customer", sites=["site-b"], now=NOW)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW)

    def as_(role: str | None) -> httpx.AsyncClient:
        return client(certs, collector.url, tokens[role] if role else None)

    # -- billing
    async with as_("billing") as c:
        cycles = (await c.get("/api/billing/site-a/cycles")).json()
        assert [(x["cycle"], x["read"], x["missing"]) for x in cycles] == [("2026-11-01", 1, 0)]
        export = await c.get("/api/billing/site-a/2026-11-01/export.csv?unmapped=1")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows == [
            ["site", "serial", "model", "meter", "value", "read_at", "cycle"],
            ["site-a", "site-a-S1", "M404", "total", "100", "2026-11-01T01:00:00Z", "2026-11-01"],
        ]
        assert (await c.get("/api/billing/site-a/2026-11-01/export.xml")).status_code == 404
        assert (await c.get("/api/billing/site-a/2026-13-45")).status_code == 400
        closed = await c.post("/api/billing/site-a/2026-11-01/close")
        assert closed.status_code == 200 and closed.json()["closed_by"] == "billing desk"
        assert (await c.post("/api/billing/site-a/2026-11-01/close")).status_code == 400
        assert (await c.post("/api/billing/site-a/2026-11-01/delete")).status_code == 404
    async with as_("support") as c:
        assert (await c.post("/api/billing/site-a/2026-11-01/reopen")).status_code == 403
        assert (await c.get("/api/billing/site-a/2026-11-01")).json()["closed"]["by"] == "billing desk"
    async with as_("customer") as c:
        assert (await c.get("/api/billing/site-a/cycles")).status_code == 404  # not its site
        assert (await c.get("/api/billing/site-nope/cycles")).status_code == 404  # the same answer
        own = await c.get("/api/billing/site-b/2026-11-01/export.json?unmapped=1")
        assert [r["value"] for r in own.json()] == [7]
    async with as_(None) as c:
        assert (await c.get("/api/billing/site-a/cycles")).status_code == 401

    # -- supplies
    async with as_("viewer") as c:
        queue = (await c.get("/api/supplies")).json()
        assert [(o["site"], o["state"], o["days_to_empty"]) for o in queue] == [
            ("site-a", "new", 4.7),
            ("site-b", "new", 4.7),
        ]
        order = f"/api/supplies/site-a/1/1/{queue[0]['opened_seq']}"
        assert (await c.post(order, json={"state": "ordered"})).status_code == 403
    async with as_("customer") as c:
        assert [o["site"] for o in (await c.get("/api/supplies")).json()] == ["site-b"]
        assert (await c.get(order + "/events")).status_code == 404
    async with as_("supplies") as c:
        moved = await c.post(order, json={"state": "ordered", "note": "PO 4711"})
        assert moved.status_code == 200
        assert [(e["state"], e["by"]) for e in moved.json()["events"]] == [
            ("new", "appliance"),
            ("ordered", "supplies desk"),
        ]
        for body, status in [
            (b"{not json", 400),
            (b"[1, 2]", 400),
            (b'{"state": "lost"}', 400),
            (b'{"state": "new"}', 400),  # never back
            (b'{"state": "shipped", "note": 5}', 400),
            (b"x" * 10_000, 413),
        ]:
            assert (await c.post(order, content=body)).status_code == status, body[:20]
        assert (await c.post("/api/supplies/site-a/1/1/999", json={"state": "ordered"})).status_code == 404
        assert (await c.post("/api/supplies/site-a/x/1/1", json={"state": "ordered"})).status_code == 404
        exported = await c.get("/api/supplies.csv?state=ordered")
        assert [r[0] for r in csv.reader(io.StringIO(exported.text))] == ["site", "site-a"]

    # -- settings
    async with as_("support") as c:
        put = await c.put(
            "/api/settings/site-a", json={"upload_times": ["05:00", "17:00"], "uploads_per_day": 2}
        )
        assert put.status_code == 200 and put.json()["by"] == "support desk"
        shown = (await c.get("/api/settings/site-a")).json()
        assert (
            shown["upload_times"] == ["05:00:00", "17:00:00"]
            and shown["history"][0]["changed_by"] == "support desk"
        )
        for body, status in [
            (b'{"upload_times": ["25:00"]}', 400),
            (b'{"budget_bytes_per_day": 1e100}', 400),
            (b'{"thresholds": {"reorder_percent": 1' + b"0" * 400 + b"}}", 400),  # was a 500
            (b'{"billing_day": 5}', 403),  # the billing role's
            (b'{"quota_bytes_per_day": 1099511627776}', 403),  # the admin's
            (b'{"services": {"billing": "yes"}}', 400),
            (b'{"__proto__": 1}', 400),
            (b'"just a string"', 400),
            (b"[" * 100_000, 413),
        ]:
            answer = await c.put("/api/settings/site-a", content=body)
            assert answer.status_code == status, (body[:30], answer.text)
        assert settings.get(store.con, "site-a")["version"] == shown["version"]  # nothing written
    async with as_("viewer") as c:
        assert (await c.put("/api/settings/site-a", json={"uploads_per_day": 4})).status_code == 403
        assert (await c.get("/api/settings/site-a")).status_code == 200
    async with as_("billing") as c:
        assert (await c.put("/api/settings/site-b", json={"billing_day": 5})).status_code == 200
        assert (await c.put("/api/settings/site-b", json={"uploads_per_day": 4})).status_code == 403
    async with as_("customer") as c:
        assert (await c.get("/api/settings/site-a")).status_code == 404
        own = (await c.get("/api/settings/site-b")).json()
        assert own["upload_times_assigned"] is True and own["settings"]["billing_day"] == 5
        assert "history" not in own and "billing desk" not in str(own)  # no staff names
    await collector.stop()
    store.close()

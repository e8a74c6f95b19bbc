"""The console's Billing, Supplies and Settings pages over real HTTPS, both backends: each role
sees and does what it may through the forms (with the session's CSRF token), a customer only its
own sites, hostile text escaped."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
import trio
from printwatch.collector import settings, supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.users import add_user

from tests.support.collector import FedSite, start_collector
from tests.support.console import FAST, PASSWORD, log_in
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

NOW = dt.datetime(2026, 11, 3, 9, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"]]
HOSTILE = "<script>alert(1)</script>"


def feed(store: CollectorStore) -> None:
    for name in ("site-a", "site-b"):
        site = FedSite(store, name)
        devices = [
            {"n": 1, "serial": f"{name}-S1", "vendor": "HP", "model": HOSTILE, "supplies": LAYOUT},
            {"n": 2, "serial": f"{name}-S2", "vendor": "HP", "model": "M404", "supplies": LAYOUT},
        ]
        site.send("register", {"devices": devices}, NOW - dt.timedelta(days=40))
        site.send("billing", {"cycle": "2026-11-01", "r": [[1, {"total": 100}]]}, dt.datetime(2026, 11, 1, 1))
        site.send("reorder", {"t": [[1, 1, 12.0, "low", 6.0]]}, dt.datetime(2026, 11, 2, 1))
    supplies.refresh(store)  # as the upload handler does after a reorder (FedSite skips HTTP)


async def test_billing_supplies_and_settings_pages_by_role(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    feed(store)
    for user, role, sites in [
        ("bea", "billing", []), ("dee", "supplies", []), ("sam", "support", []), ("vic", "viewer", []),
        ("cus", "customer", ["site-b"]),
    ]:  # fmt: skip
        add_user(store, user, PASSWORD, role, sites=sites, now=NOW, password_hash=FAST)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW)
    context = ssl.create_default_context(cafile=str(certs.ca_file))

    def browser() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=collector.url, verify=context, timeout=30.0)

    async with browser() as c:
        csrf = await log_in(c, "bea")
        listed = await c.get("/console/billing")
        assert listed.status_code == 200 and "site-a" in listed.text and "site-b" in listed.text
        page = await c.get("/console/billing/site-a/2026-11-01")
        assert 'class="missing"' in page.text and "site-a-S2" in page.text  # the missing one, highlighted
        assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
        download = await c.get("/api/billing/site-a/2026-11-01/export.csv?unmapped=1")  # the session's
        assert download.status_code == 200 and "site-a-S1" in download.text
        refused = await c.post("/console/billing/site-a/2026-11-01/close", data={})
        assert refused.status_code == 403  # no CSRF token
        closed = await c.post("/console/billing/site-a/2026-11-01/close", data={"csrf": csrf})
        assert closed.status_code == 303
        assert "Closed 2026-11-03T09:00:00Z by bea" in (await c.get(closed.headers["location"])).text
    async with browser() as c:
        csrf = await log_in(c, "dee")
        queue = await c.get("/console/supplies")
        assert queue.text.count('class="move"') == 2 and HOSTILE not in queue.text
        seq = store.con.execute("SELECT opened_seq FROM supply_orders WHERE site_id = 'site-a'").fetchall()[
            0
        ][0]
        moved = await c.post(
            f"/console/supplies/site-a/1/1/{seq}", data={"csrf": csrf, "state": "ordered", "note": "PO 4711"}
        )
        assert moved.status_code == 303
        shown = await c.get("/console/supplies?state=ordered")
        assert "by dee" in shown.text and "site-b" not in shown.text
        back = await c.post(f"/console/supplies/site-a/1/1/{seq}", data={"csrf": csrf, "state": "new"})
        assert back.status_code == 400
    async with browser() as c:
        csrf = await log_in(c, "sam")
        form = {
            "csrf": csrf, "upload_times": "05:00, 17:00", "uploads_per_day": "",
            "budget_bytes_per_day": "50000", "service_aggregates": "on", "service_billing": "on",
            "billing_cycle": "monthly", "billing_day": "1", "reorder_percent": "15", "lead_time_days": "",
        }  # fmt: skip
        # support may not move the billing schedule (billing's), even within a whole form
        refused = await c.post("/console/settings/site-a", data={**form, "billing_cycle": "quarterly"})
        assert refused.status_code == 403 and "billing" in refused.text
        saved = await c.post("/console/settings/site-a", data=form)  # the same schedule: fine
        assert saved.status_code == 303
        got = settings.get(store.con, "site-a")
        assert got["upload_times"] == ["05:00:00", "17:00:00"] and got["services"]["reorders"] is False
        assert got["settings"]["billing_cycle"] == "monthly" and got["settings"]["thresholds"] == {
            "reorder_percent": 15.0
        }
        bad = await c.post("/console/settings/site-a", data={**form, "upload_times": "25:00"})
        assert bad.status_code == 400 and "upload_times" in bad.text
        assert settings.get(store.con, "site-a")["version"] == got["version"]
    async with browser() as c:
        await log_in(c, "vic")
        viewed = await c.get("/console/settings/site-a")
        assert (
            viewed.status_code == 200 and "Save as version" not in viewed.text and "disabled" in viewed.text
        )
    async with browser() as c:
        await log_in(c, "cus")
        assert "site-a" not in (await c.get("/console/billing")).text
        assert (await c.get("/console/billing/site-a/2026-11-01")).status_code == 404
        assert (await c.get("/console/settings/site-a")).status_code == 404
        assert "site-a" not in (await c.get("/console/supplies")).text
        assert (await c.get("/console/settings/site-b")).status_code == 200
    await collector.stop()
    store.close()

"""Every list the collector answers is bounded: the read API's views, the supplies queue (API,
CSV, console page) come a page at a time, say how many there are and link to the next; a
customer still sees only its sites. The attacks: a customer asking for ``limit=10000000`` gets a
page of at most the cap, a huge or malformed offset a 400, each answered at once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ssl
from pathlib import Path

import httpx
import pytest
import trio
from printwatch.collector import billing, supplies, views
from printwatch.collector.console import data
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token
from printwatch.collector.users import add_user

from tests.support.collector import FedSite, start_collector
from tests.support.console import FAST, PASSWORD, log_in
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

NOW = dt.datetime(2026, 11, 3, 9, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"], [2, "toner", "cyan", "Cyan Toner"]]
SITES, PRINTERS = ("site-a", "site-b", "site-c"), 4


def feed(store: CollectorStore) -> None:
    """Three sites of four printers, each with a read and a reorder of both supplies."""
    for k, name in enumerate(SITES):
        site = FedSite(store, name)
        devices = [
            {"n": n, "serial": f"{name}-S{n}", "vendor": "HP", "model": "M404", "supplies": LAYOUT}
            for n in range(1, PRINTERS + 1)
        ]
        site.send("register", {"devices": devices}, NOW - dt.timedelta(days=5))
        reads = [[n, {"total": 100 * n}] for n in range(1, PRINTERS + 1)]
        site.send("billing", {"cycle": "2026-11-01", "r": reads}, dt.datetime(2026, 11, 1, 1))
        triggers = [[n, i, 10.0, "low", 5.0] for n in range(1, PRINTERS + 1) for i in (1, 2)]
        site.send("reorder", {"t": triggers}, NOW - dt.timedelta(days=2, hours=k))
    supplies.refresh(store)  # as the upload handler does after a reorder (FedSite skips HTTP)


async def test_lists_come_a_page_at_a_time_and_attacks_get_a_bounded_answer(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    feed(store)
    viewer = create_token(store, "viewer desk", "viewer", now=NOW)
    customer = create_token(store, "customer b", "customer", sites=["site-b"], now=NOW)
    add_user(store, "dee", PASSWORD, "supplies", now=NOW, password_hash=FAST)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW)
    trust = ssl.create_default_context(cafile=str(certs.ca_file))

    def as_(token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=collector.url, verify=trust, headers=headers, timeout=30.0)

    async with as_(viewer) as c:
        first = await c.get("/api/devices?limit=5")
        assert [(d["site_id"], d["n"]) for d in first.json()] == [
            *(("site-a", n) for n in range(1, 5)),
            ("site-b", 1),
        ]
        assert first.headers["x-total-count"] == "12"
        assert first.headers["link"] == '</api/devices?limit=5&offset=5>; rel="next"'
        last = await c.get("/api/devices?limit=5&offset=10")
        assert len(last.json()) == 2 and "link" not in last.headers
        # reads and counters: a page of devices, all their meters
        reads = (await c.get("/api/reads?limit=2&offset=3")).json()
        assert sorted({(r["site_id"], r["n"]) for r in reads}) == [("site-a", 4), ("site-b", 1)]
        newest = (await c.get("/api/reorders?limit=3")).json()
        assert len(newest) == 3 and {r["site_id"] for r in newest} == {"site-a"}  # the latest sent
        assert len((await c.get("/api/reorders")).json()) == 24  # under the default page
        queue = await c.get("/api/supplies?limit=10&offset=20")
        assert (
            len(queue.json()) == 4 and queue.headers["x-total-count"] == "24" and "link" not in queue.headers
        )
        assert (
            (await c.get("/api/supplies?limit=10"))
            .headers["link"]
            .startswith("</api/supplies?limit=10&offset=10>")
        )
        # the CSV streams every page: 24 orders in pages of 5
        monkeypatch.setattr("printwatch.collector.handlers.supplies.CSV_PAGE", 5)
        exported = list(csv.DictReader(io.StringIO((await c.get("/api/supplies.csv")).text)))
        assert len(exported) == 24 and len({(r["site"], r["serial"], r["supply"]) for r in exported}) == 24
        # each page starts after the last one's key: the queue's order, no order twice or skipped
        # (the sites' orders share their opening times: the key's later columns decide)
        ordered = (await c.get("/api/supplies?limit=100")).json()
        assert [(r["site"], r["serial"], r["supply"]) for r in exported] == [
            (o["site"], o["serial"], o["supply"]) for o in ordered
        ]
        # written from the store's rows straight, cell for cell what the JSON's rows would give
        assert (await c.get("/api/supplies.csv")).text == supplies.to_csv(ordered)
        monkeypatch.setattr(supplies, "MAX_ORDERS", 12)  # the export's cap, met within a page
        at_cap = list(csv.DictReader(io.StringIO((await c.get("/api/supplies.csv")).text)))
        assert [r["serial"] for r in at_cap] == [o["serial"] for o in ordered[:12]]
        monkeypatch.setattr(supplies, "MAX_ORDERS", 10_000)

    async with as_(customer) as c:
        with trio.fail_after(20):  # each answered at once, whatever was asked
            huge = await c.get("/api/devices?limit=10000000")
            assert huge.status_code == 200 and huge.headers["x-total-count"] == str(PRINTERS)
            assert {d["site_id"] for d in huge.json()} == {"site-b"}  # its own sites, still
            for view in ("reads", "counters", "reorders", "sites", "devices"):
                capped = await c.get(f"/api/{view}?limit=10000000&offset=0")
                assert capped.status_code == 200 and len(capped.json()) <= views.MAX_PAGE * 10
                assert {r["site_id"] for r in capped.json()} <= {"site-b"}
            own = await c.get("/api/supplies?limit=10000000")
            assert own.status_code == 200 and {o["site"] for o in own.json()} == {"site-b"}
            assert own.headers["x-total-count"] == str(2 * PRINTERS)
            for path in (
                "/api/reads?offset=1000000000000",
                "/api/reorders?offset=99999999999999999999999999",
                "/api/devices?limit=-1",
                "/api/counters?limit=1e9",
                "/api/supplies?offset=100000000",
                "/api/supplies?limit=ten",
            ):
                refused = await c.get(path)
                assert refused.status_code == 400 and "error" in refused.json(), path
            assert (await c.get("/api/reads?site=site-a&limit=1")).status_code == 404  # not its site

    # The console's queue: a page, how many, the next and previous pages.
    monkeypatch.setattr(supplies, "PAGE", 10)
    async with as_() as c:
        await log_in(c, "dee")
        page = await c.get("/console/supplies")
        assert "24 orders, 1 to 10 shown" in page.text and page.text.count('class="move"') == 10
        assert 'href="/console/supplies?offset=10" rel="next"' in page.text and 'rel="prev"' not in page.text
        last_page = await c.get("/console/supplies?offset=20")
        assert "21 to 24 shown" in last_page.text and 'rel="next"' not in last_page.text
        assert 'href="/console/supplies?offset=10" rel="prev"' in last_page.text
        new_only = await c.get("/console/supplies?state=new&offset=10")
        assert 'href="/console/supplies?state=new&amp;offset=20" rel="next"' in new_only.text
        assert (await c.get("/console/supplies?offset=99999999999")).status_code == 400
        # The Sites and Devices pages (and their JSON and CSV): a page, how many, the next.
        monkeypatch.setattr(data, "MAX_SITES", 2)
        monkeypatch.setattr(data, "MAX_DEVICES", 5)
        sites = await c.get("/console/sites")
        assert "3 sites, 1 to 2 shown" in sites.text and "site-c" not in sites.text
        assert 'href="/console/sites?offset=2" rel="next"' in sites.text
        rest = await c.get("/console/sites.json?offset=2")
        assert [r["site_id"] for r in rest.json()] == ["site-c"] and rest.headers["x-total-count"] == "3"
        assert "link" not in rest.headers
        found = await c.get("/console/devices?q=site-b")
        assert "4 devices." in found.text and 'rel="next"' not in found.text
        every = await c.get("/console/devices.csv")
        assert every.headers["x-total-count"] == "12" and len(every.text.strip().splitlines()) == 1 + 5
        assert every.headers["link"] == '</console/devices.csv?offset=5>; rel="next"'
        for path in ("/console/devices?offset=x", "/console/sites.json?offset=100000000000"):
            assert (await c.get(path)).status_code == 400, path
    await collector.stop()


def test_the_billing_overview_counts_as_each_site_cycles_do(collector_store: str | Path) -> None:
    """Set-based across sites (a few queries per page), the same counts as one site's cycles."""
    store = CollectorStore(collector_store)
    feed(store)
    now = dt.datetime(2026, 11, 3, 9, 0)
    billing.close(store, "site-b", "2026-11-01", by="bea", now=now)
    per_site = [c for site in SITES for c in billing.cycles(store.con, site, now) if c["current"]]
    overview, total = billing.current_cycles(store.con, now)
    assert overview == per_site and total == 3
    assert [c["closed_by"] for c in overview] == [None, "bea", None]
    page, total = billing.current_cycles(store.con, now, limit=1, offset=1)
    assert [c["site"] for c in page] == ["site-b"] and total == 3
    mine, total = billing.current_cycles(store.con, now, scope=("site_id IN (?)", ["site-c"]))
    assert [c["site"] for c in mine] == ["site-c"] and total == 1
    store.close()


async def test_missing_reads_come_a_page_at_a_time_and_a_customer_sees_its_own(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    """``/api/missing`` pages as the other views do: by site and device, ``X-Total-Count`` and a
    ``Link`` to the next page; a closed cycle owes nothing; a customer's page holds its sites only,
    and the attacks on the others' views (a huge limit, a huge offset, another's site) fail here too."""
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    read_by_site = {"site-a": 4, "site-b": 2, "site-c": 0, "site-d": 0}
    for name, read in read_by_site.items():
        site = FedSite(store, name)
        devices = [{"n": n, "serial": f"{name}-S{n}", "model": "M404"} for n in range(1, PRINTERS + 1)]
        site.send("register", {"devices": devices}, NOW - dt.timedelta(days=5))
        if read:
            reads = [[n, {"total": 100 * n}] for n in range(1, read + 1)]
            site.send("billing", {"cycle": "2026-11-01", "r": reads}, dt.datetime(2026, 11, 1, 1))
    billing.close(store, "site-c", "2026-11-01", by="clerk", now=NOW)  # owes nothing more
    everything = views.missing(store.con, now=NOW)  # as the missing-read e-mail reads it
    expected = [("site-b", 3), ("site-b", 4), *(("site-d", n) for n in range(1, 5))]
    assert [(r["site_id"], r["n"]) for r in everything] == expected
    viewer = create_token(store, "viewer desk", "viewer", now=NOW)
    customer = create_token(store, "customer b", "customer", sites=["site-b"], now=NOW)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW)
    trust = ssl.create_default_context(cafile=str(certs.ca_file))

    def as_(token: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.AsyncClient(base_url=collector.url, verify=trust, headers=headers, timeout=30.0)

    async with as_(viewer) as c:
        first = await c.get("/api/missing?limit=4")
        assert [(r["site_id"], r["n"]) for r in first.json()] == expected[:4]
        assert first.headers["x-total-count"] == "6"
        assert first.headers["link"] == '</api/missing?limit=4&offset=4>; rel="next"'
        rest = await c.get("/api/missing?limit=4&offset=4")
        assert [(r["site_id"], r["n"]) for r in rest.json()] == expected[4:] and "link" not in rest.headers
        assert rest.json()[0] == {
            "site_id": "site-d", "n": 3, "serial": "site-d-S3", "contact": None, "address": None,
            "cycle": "2026-11-01",
        }  # fmt: skip
        one = await c.get("/api/missing?site=site-d&limit=1&offset=3")
        assert [r["n"] for r in one.json()] == [4] and one.headers["x-total-count"] == "4"

    async with as_(customer) as c:
        with trio.fail_after(20):
            own = await c.get("/api/missing?limit=10000000")
            assert [(r["site_id"], r["n"]) for r in own.json()] == expected[:2]
            assert own.headers["x-total-count"] == "2" and "link" not in own.headers
            for path in ("/api/missing?offset=1000000000000", "/api/missing?limit=-1"):
                refused = await c.get(path)
                assert refused.status_code == 400 and "error" in refused.json(), path
            assert (await c.get("/api/missing?site=site-d")).status_code == 404  # not its site
    store.close()

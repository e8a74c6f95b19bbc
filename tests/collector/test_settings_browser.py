"""The Billing, Supplies and Settings pages in a real browser (Debian's Chromium, headless, driven
by Playwright), against the collector's HTTPS server on the test's clock: the billing clerk
downloads a cycle's CSV and checks it against the reads, then closes the cycle; the supplies desk
moves a reorder forward; support changes a site's upload times and the sync answer carries them.
Screenshots go under ``artifacts/console/`` (gitignored)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from printwatch.collector import billing, supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.sync import sync_for
from printwatch.collector.users import add_user
from printwatch.web.auth.passwords import hash_password

from tests.support.browser import BROWSER_TEST, chromium, console_log_in, new_page, screenshot
from tests.support.collector import FedSite, collector_in_thread
from tests.support.tls import make_certs

sync_api = pytest.importorskip("playwright.sync_api")
PASSWORD = "console password 1"
NOW = dt.datetime(2026, 11, 3, 9, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"]]

pytestmark = BROWSER_TEST


def shot(page: object, name: str) -> Path:
    return screenshot(page, "console", name)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, CollectorStore]]:
    """The collector in a thread of its own on a DuckDB store with two sites fed through ingest
    (three printers, two billing reads, a reorder), a user per desk; its URL and store."""
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "collector.duckdb")
    site = FedSite(store, "site-a")
    devices = [
        {"n": i, "serial": f"A-{i:03d}", "vendor": "HP", "model": "M404", "supplies": LAYOUT}
        for i in (1, 2, 3)
    ]
    site.send("register", {"devices": devices}, NOW - dt.timedelta(days=40))
    site.send(
        "billing",
        {"cycle": "2026-11-01", "r": [[1, {"total": 1200}], [2, {"total": 340}]]},
        dt.datetime(2026, 11, 1, 1),
    )
    site.send("reorder", {"t": [[3, 1, 9.0, "low", 4.0]]}, dt.datetime(2026, 11, 2, 1))
    supplies.refresh(store)  # as the upload handler does after a reorder (FedSite skips HTTP)
    fast = hash_password(PASSWORD, n=2**14)
    for role in ("billing", "supplies", "support"):
        add_user(store, role, PASSWORD, role, now=NOW, password_hash=fast)
    with contextlib.closing(store), collector_in_thread(store, certs, now=lambda: NOW) as url:
        yield url, store


def log_in(browser: Any, url: str, user: str) -> Any:
    page = new_page(browser, accept_downloads=True)
    page.goto(url + "/console/login")
    console_log_in(page, url, user, PASSWORD)
    return page


def test_billing_supplies_and_settings_in_chromium(
    console: tuple[str, CollectorStore], tmp_path: Path
) -> None:
    url, store = console
    expect = sync_api.expect
    with chromium() as browser:
        page = log_in(browser, url, "billing")
        page.click("nav >> text=Billing")
        page.click("table#billing >> text=2026-11-01")
        expect(page.locator("table#missing tr.missing")).to_have_count(1)
        expect(page.locator("table#missing")).to_contain_text("A-003")
        shot(page, "billing-1-cycle")
        with page.expect_download() as info:
            page.click("text=with unmapped meters")
        rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
        reads = billing.cycle_reads(store.con.cursor(), "site-a", "2026-11-01")["reads"]
        assert {(r["serial"], int(r["value"])) for r in rows} == {
            (r["serial"], r["meters"]["total"]) for r in reads
        }
        page.click("#close-form button")
        expect(page.locator("p.note").first).to_contain_text("Closed 2026-11-03T09:00:00Z by billing")
        shot(page, "billing-2-closed")

        page = log_in(browser, url, "supplies")
        page.click("nav >> text=Supplies")
        row = page.locator("table#supplies tbody tr").first
        expect(row).to_contain_text("A-003")
        row.locator("select[name=state]").select_option("ordered")
        row.locator("input[name=note]").fill("PO 4711")
        row.locator("button").click()
        expect(page.locator("table#supplies tbody tr").first).to_contain_text("ordered")
        expect(page.locator("table#supplies tbody tr").first).to_contain_text("by supplies")
        shot(page, "supplies-1-ordered")

        page = log_in(browser, url, "support")
        page.goto(url + "/console/settings/site-a")
        page.fill("#upload_times", "05:00 17:00")
        page.click("#settings-form button")
        expect(page.locator("p.note").first).to_contain_text("05:00:00, 17:00:00 UTC (set by support)")
        expect(page.locator("table#history tbody tr").first).to_contain_text("support")
        shot(page, "settings-1-saved")
    # What the appliance gets at its next sync (tests/uplink/test_settings_sync.py follows it there).
    assert sync_for(store.con.cursor(), "site-a", NOW)["settings"]["upload_times"] == ["05:00:00", "17:00:00"]

"""The console at size in a real browser: a PostgreSQL collector store filled with S sites x P
printers of history by the appliance's uplink and the collector's own ingest
(``tests/support/console_fleet.py``, the bench's filling code), served over HTTPS on the test's
clock; the admin logs in through the form in Debian's Chromium and every console page (sites, a
site, devices, a device, billing, supplies, settings, enrolment, users) is checked for what it
should show at that size (its rows counted against the store, its paging links) and kept as a
screenshot: in the test's ``tmp_path`` (``screenshots/``), and also under
``$PRINTWATCH_SCREENSHOTS/console-SxP/`` when that is set. A customer's sites page shows its one
site. The bounded version (100 sites x 10 printers) runs by default; the ``slow`` one is the
issue's size, 10,000 devices across 100 sites."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from printwatch.collector import supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.users import add_user

from tests.support.browser import BROWSER_TEST, chromium, console_log_in, new_page
from tests.support.collector import collector_in_thread
from tests.support.console import FAST, PASSWORD
from tests.support.console_fleet import END, fill, serial, site_id
from tests.support.tls import make_certs

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = BROWSER_TEST
#: The site and device the single pages show.
SITE, DEVICE = 7, 3


def collector_now() -> dt.datetime:
    """The collector's clock: the end of the filled history, never the real date."""
    return END.replace(tzinfo=None) + dt.timedelta(hours=2)


@dataclass
class AtSize:
    """What each page must show for a store of this size (counted in the store), page by page."""

    page: Page
    sites: int
    printers: int
    orders: int
    sent: int

    def rows(self, table: str, count: int) -> None:
        sync_api.expect(self.page.locator(f"table#{table} tbody tr")).to_have_count(count)

    def paging(self, following: bool, previous: bool = False) -> None:
        sync_api.expect(self.page.locator("a[rel=next]")).to_have_count(int(following))
        sync_api.expect(self.page.locator("a[rel=prev]")).to_have_count(int(previous))

    def note(self, text: str) -> None:
        sync_api.expect(self.page.locator("p.note").first).to_contain_text(text)

    def sites_page(self) -> None:
        self.rows("sites", self.sites)
        self.paging(False)

    def site_page(self) -> None:
        self.rows("devices", self.printers)
        self.rows("transmissions", min(500, self.sent))
        self.rows("health", 1)

    def devices_page(self) -> None:
        devices = self.sites * self.printers
        self.rows("devices", min(500, devices))
        self.note(f"{devices} devices")
        self.paging(devices > 500)

    def device_page(self) -> None:
        sync_api.expect(self.page.locator("h1")).to_contain_text(serial(SITE, DEVICE))
        sync_api.expect(self.page.locator("svg.chart").first).to_be_visible()

    def billing_page(self) -> None:
        self.rows("billing", self.sites)
        self.paging(False)

    def supplies_page(self) -> None:
        self.rows("supplies", min(200, self.orders))
        self.note(f"{self.orders} orders, 1 to {min(200, self.orders)} shown")
        self.paging(self.orders > 200)

    def supplies_next(self) -> None:
        self.rows("supplies", min(200, self.orders - 200))
        self.note(f"{self.orders} orders, 201 to {min(400, self.orders)} shown")
        self.paging(self.orders > 400, previous=True)

    def settings_page(self) -> None:
        sync_api.expect(self.page.locator("#upload_times")).to_be_visible()
        sync_api.expect(self.page.locator("h1")).to_contain_text(site_id(SITE))

    def enrolment_page(self) -> None:
        self.rows("enrolment", self.sites)

    def users_page(self) -> None:
        self.rows("users", 2)


def pages(size: AtSize) -> list[tuple[str, str, Callable[[], None]]]:
    """Every console page: its path, its screenshot's name, its check."""
    site = site_id(SITE)
    found: list[tuple[str, str, Callable[[], None]]] = [
        ("/console/sites", "sites", size.sites_page),
        (f"/console/sites/{site}", "site", size.site_page),
        ("/console/devices", "devices", size.devices_page),
        (f"/console/devices/{site}/{DEVICE}", "device", size.device_page),
        ("/console/billing", "billing", size.billing_page),
        ("/console/supplies", "supplies", size.supplies_page),
        (f"/console/settings/{site}", "settings", size.settings_page),
        ("/console/enrolment", "enrolment", size.enrolment_page),
        ("/console/access", "users", size.users_page),
    ]
    if size.orders > 200:  # the next page, as its link leads
        found.insert(6, ("/console/supplies?offset=200", "supplies-next", size.supplies_next))
    return found


def check_console_at_size(tmp_path: Path, where: str, sites: int, printers: int, days: int) -> list[Path]:
    """Fills ``where``, serves it, checks and photographs every page; the screenshots."""
    store = CollectorStore(where)
    messages = fill(store, sites, printers, days)
    now = collector_now()
    add_user(store, "admin", PASSWORD, "admin", now=now, password_hash=FAST)
    add_user(store, "acme", PASSWORD, "customer", sites=[site_id(SITE)], now=now, password_hash=FAST)
    supplies.refresh(store)
    orders = supplies.count(store.con)
    sent = store.con.execute("SELECT count(*) FROM messages WHERE site_id = ?", [site_id(SITE)]).fetchall()
    assert messages > sites and orders > 0, (messages, orders)
    folder = tmp_path / "screenshots"
    folder.mkdir()
    saved: list[Path] = []

    def keep(page: Page, name: str) -> None:
        saved.append(folder / f"{len(saved) + 1:02d}-{name}.png")
        page.screenshot(path=str(saved[-1]))

    certs = make_certs(tmp_path)
    with (
        contextlib.closing(store),
        collector_in_thread(store, certs, now=collector_now) as url,
        chromium() as browser,
    ):
        page = new_page(browser, height=1000)
        page.set_default_timeout(30_000)
        page.goto(url + "/console/login")
        console_log_in(page, url, "admin", PASSWORD)
        size = AtSize(page, sites, printers, orders, int(sent[0][0]))
        for path, name, check in pages(size):
            answer = page.goto(url + path)
            assert answer is not None and answer.status == 200, (path, answer and answer.status)
            check()
            keep(page, name)
        if orders > 200:  # the link the first page of the queue shows leads to the second
            page.goto(url + "/console/supplies")
            page.click("a[rel=next]")
            size.supplies_next()
        page.context.close()
        page = new_page(browser)  # a customer at this size: its own site only
        page.goto(url + "/console/login")
        console_log_in(page, url, "acme", PASSWORD)
        AtSize(page, 1, printers, orders, 0).sites_page()
        keep(page, "customer-sites")
        page.context.close()
    for shot in saved:
        assert shot.stat().st_size > 10_000, shot  # a rendered page, not an empty one
    also = os.environ.get("PRINTWATCH_SCREENSHOTS")
    if also:
        shutil.copytree(folder, Path(also) / f"console-{sites}x{printers}", dirs_exist_ok=True)
    print(f"screenshots: {folder}")
    return saved


def test_every_console_page_at_100_sites_of_10_printers(tmp_path: Path, postgres_url: str) -> None:
    saved = check_console_at_size(tmp_path, postgres_url, sites=100, printers=10, days=2)
    assert len(saved) == 11


@pytest.mark.slow
def test_every_console_page_at_10000_devices_across_100_sites(tmp_path: Path, postgres_url: str) -> None:
    saved = check_console_at_size(tmp_path, postgres_url, sites=100, printers=100, days=3)
    assert len(saved) == 11

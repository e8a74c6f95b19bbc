"""The console in a real browser: Debian's Chromium, headless, driven by Playwright (no browser
download: ``executable_path=/usr/bin/chromium``), against the collector's HTTPS server on the
test's clock, with sites and devices that arrived through the real enrolment and uploads. Each role logs in
through the form and sees only what it may: every staff role every site, the customer its own
site only (another's page is "Not found", its device and JSON too), the Enrolment section the
admin alone, who issues a token on it. A screenshot of each page and role is saved under
``artifacts/console/`` (gitignored); the path is printed."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.collector.users import add_user
from printwatch.uplink.transport import Endpoint
from printwatch.web.auth.passwords import hash_password

from tests.support.browser import BROWSER_TEST, chromium, console_log_in, new_page, screenshot
from tests.support.collector import RunningCollector, collector_in_thread, upload_site
from tests.support.fakes import contract_doc
from tests.support.tls import make_certs

sync_api = pytest.importorskip("playwright.sync_api")
PASSWORD = "console password 1"
SITES = {"acme-1": 3, "globex": 2}  # site: printers
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
ROLES = ("admin", "billing", "supplies", "support", "viewer", "customer")

pytestmark = BROWSER_TEST


def shot(page: object, name: str) -> Path:
    return screenshot(page, "console", name)


def collector_now() -> dt.datetime:
    """The collector's clock: the test's, never the real date."""
    return NOW.replace(tzinfo=None)


async def upload_sites(endpoint: Endpoint, tokens: dict[str, str], folder: Path) -> None:
    """Each site's appliance enrols and sends its registration and a billing read."""
    for site, count in SITES.items():
        printers = []
        for i in range(count):
            doc = contract_doc((f"10.{len(site)}.0.{i + 1}", 161), 5, NOW)
            info = {
                "serial": f"{site.upper()}-{i + 1:03d}",
                "model": "Fake 7835",
                "vendor": "xerox",
                "supplies": [],
            }
            printers.append((info, doc["meters"]))
        await upload_site(
            endpoint, folder, site, tokens[site], printers, now=NOW, made=NOW - dt.timedelta(minutes=3)
        )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[str]:
    """The collector (its HTTPS server on the test's clock, in a thread of its own) on a DuckDB
    store with two sites, a user of each role (the customer with acme-1), their printers
    uploaded through the real enrolment and uploads; its URL."""
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "collector.duckdb")
    fast = hash_password(PASSWORD, n=2**14)
    tokens = {site: add_site(store, site, now=collector_now(), name=site.title()) for site in SITES}
    for role in ROLES:
        sites = ["acme-1"] if role == "customer" else []
        add_user(store, role, PASSWORD, role, sites=sites, now=collector_now(), password_hash=fast)

    async def uploaded(collector: RunningCollector) -> None:
        await upload_sites(collector.endpoint(), tokens, tmp_path)

    with (
        contextlib.closing(store),
        collector_in_thread(store, certs, now=collector_now, prepare=uploaded) as url,
    ):
        yield url


def test_each_role_sees_what_it_may_in_chromium(console: str) -> None:
    url = console
    expect = sync_api.expect
    with chromium() as browser:
        for role in (*ROLES[1:], "admin"):  # the admin last: it adds a site
            page = new_page(browser)
            page.goto(url + "/console/sites")
            expect(page).to_have_url(f"{url}/console/login?next=%2Fconsole%2Fsites")
            if role == "admin":
                shot(page, "0-login")  # (the last role)
            console_log_in(page, url, role, PASSWORD)
            rows = page.locator("table#sites tbody tr")
            expected = ["acme-1"] if role == "customer" else sorted(SITES)
            expect(rows).to_have_count(len(expected))
            assert [r.split()[0] for r in rows.all_inner_texts()] == expected
            nav = page.locator("nav a").all_inner_texts()
            assert ("Enrolment" in nav) == (role == "admin"), nav
            shot(page, f"{role}-1-sites")
            page.click("table#sites >> text=acme-1")
            expect(page.locator("table#devices tbody tr")).to_have_count(SITES["acme-1"])
            expect(page.locator("table#transmissions tbody tr")).to_have_count(2)
            shot(page, f"{role}-2-site")
            page.click("table#devices tbody tr >> nth=0 >> a")
            expect(page.locator("h1")).to_contain_text("ACME-1-001")
            expect(page.locator("svg.chart").first).to_be_visible()
            shot(page, f"{role}-3-device")
            page.click("nav >> text=Devices")
            page.fill("input[name=q]", "0")
            page.click("form.filters button")
            found = page.locator("table#devices tbody tr")
            expect(found).to_have_count(SITES["acme-1"] if role == "customer" else sum(SITES.values()))
            shot(page, f"{role}-4-devices")
            # another customer's site, device and JSON: as if they did not exist
            for path in ("/console/sites/globex", "/console/devices/globex/1"):
                answer = page.goto(url + path)
                assert answer is not None
                assert answer.status == (404 if role == "customer" else 200), (role, path)
            if role == "customer":
                expect(page.locator("h1")).to_have_text("Not found")
                shot(page, "customer-5-another-site")
            answer = page.goto(url + "/console/enrolment")
            assert answer is not None and answer.status == (200 if role == "admin" else 403)
            if role == "admin":
                page.fill("#add-site input[name=site_id]", "branch-9")
                page.click("#add-site button")
                expect(page.locator("#issued")).to_contain_text("branch-9")
                assert len(page.locator("#token").inner_text()) >= 20
                shot(page, "admin-5-enrolment")
            else:
                expect(page.locator("h1")).to_have_text("Not allowed")
            page.click("nav >> text=Log out")
            expect(page).to_have_url(url + "/console/login")
            page.context.close()

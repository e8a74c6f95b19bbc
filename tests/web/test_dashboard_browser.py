"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright (no browser
download: ``executable_path=/usr/bin/chromium``). Log in (the first-run password, changed at
once), open the fleet, sort and filter it, open a printer, see its supply chart with the forecast
line, press call-for-assistance, open the alerts, discovery and settings pages, log out. A
screenshot of each page is saved under ``artifacts/dashboard/`` (gitignored); the path is
printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import BROWSER_TEST, CHROMIUM, chromium, new_page, screenshot
from tests.web.appliance_thread import METERED, Running

sync_api = pytest.importorskip("playwright.sync_api")
NEW_PASSWORD = "a much better password"

pytestmark = BROWSER_TEST


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium() as browser:
        yield new_page(browser, height=1000)


def shot(page: object, name: str) -> Path:
    return screenshot(page, "dashboard", name)


def test_log_in_fleet_printer_chart_assist_log_out(dash: Running, browser_page: object) -> None:
    page = browser_page
    expect = sync_api.expect
    page.goto(dash.url + "/fleet")  # type: ignore[attr-defined]
    expect(page).to_have_url(f"{dash.url}/login?next=%2Ffleet")
    shot(page, "1-login")
    page.fill("#user", "admin")  # type: ignore[attr-defined]
    page.fill("#password", dash.first_password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    # the first-run password must be changed before anything else
    expect(page).to_have_url(dash.url + "/settings")
    expect(page.locator("text=first-run password")).to_be_visible()  # type: ignore[attr-defined]
    shot(page, "2-change-password")
    page.fill("#current", dash.first_password)  # type: ignore[attr-defined]
    page.fill("#new", NEW_PASSWORD)  # type: ignore[attr-defined]
    page.fill("#again", NEW_PASSWORD)  # type: ignore[attr-defined]
    page.click("form.form button[type=submit]")  # type: ignore[attr-defined]
    expect(page.locator("text=Password changed")).to_be_visible()  # type: ignore[attr-defined]

    # the fleet: every simulated printer, with supply bars and pages per day
    page.click("nav >> text=Fleet")  # type: ignore[attr-defined]
    rows = page.locator("table#fleet tbody tr")  # type: ignore[attr-defined]
    # every device of the store (the registry makes one device of printers sharing a serial)
    cur = dash.store.reader()
    devices = cur.execute("SELECT count(*) FROM devices").fetchone()[0]  # type: ignore[index]
    with_levels = cur.execute(
        "SELECT count(DISTINCT device_id) FROM supply_forecast WHERE percent_now >= 0"
    ).fetchone()[0]  # type: ignore[index]
    cur.close()
    assert devices >= dash.sim.count - 4
    expect(rows).to_have_count(devices)
    assert page.locator("table#fleet .bar i").count() >= with_levels > 5  # type: ignore[attr-defined]
    expect(page.locator(".pager")).to_contain_text(f"of {devices}")  # type: ignore[attr-defined]
    shot(page, "3-fleet")
    # sort by supply level (lowest first), then filter by text: server-side, through the URL
    page.click("th >> text=Supplies")  # type: ignore[attr-defined]
    expect(page).to_have_url(f"{dash.url}/fleet?sort=supply")
    address = dash.sim.printer(METERED)["address"]
    page.fill("input[name=q]", address)  # type: ignore[attr-defined]
    page.click("form.filters button")  # type: ignore[attr-defined]
    expect(rows).to_have_count(1)
    shot(page, "4-fleet-filtered")

    # a printer: details, the supply chart with its forecast line to empty, meters
    rows.first.locator("a").first.click()
    expect(page.locator("h1")).not_to_have_text("Fleet")  # type: ignore[attr-defined]
    charts = page.locator("svg.chart")  # type: ignore[attr-defined]
    expect(charts).to_have_count(2)
    expect(charts.first.locator("polyline.series").first).to_be_visible()
    assert charts.first.locator("line.forecast").count() >= 1
    assert charts.nth(1).locator("polyline.series").count() >= 1
    expect(page.locator("dl.details")).to_contain_text(address)  # type: ignore[attr-defined]
    # its meter reads with their evidence and its pages per day, dated by the appliance's clock
    expect(page.locator("td code").first).to_contain_text("1.3.6.1.")  # type: ignore[attr-defined]
    expect(page.locator("text=No meter reads in 30 days")).to_have_count(0)  # type: ignore[attr-defined]
    expect(page.locator("text=No pages counted yet")).to_have_count(0)  # type: ignore[attr-defined]
    shot(page, "5-printer")
    polls_before = dash.appliance.sink_stats.documents
    page.click("#assist")  # type: ignore[attr-defined]
    expect(page.locator("#assist-result")).to_contain_text("Assistance requested at", timeout=20_000)  # type: ignore[attr-defined]
    assert dash.appliance.sink_stats.documents > polls_before  # the immediate poll was written
    shot(page, "6-assist")

    for name in ("Alerts", "Discovery", "Settings"):
        page.click(f"nav >> text={name}")  # type: ignore[attr-defined]
        expect(page.locator("h1")).to_have_text(name)  # type: ignore[attr-defined]
        shot(page, f"7-{name.lower()}")

    page.click("nav button >> text=Log out")  # type: ignore[attr-defined]
    expect(page).to_have_url(dash.url + "/login")
    page.goto(dash.url + "/fleet")  # type: ignore[attr-defined]
    expect(page).to_have_url(f"{dash.url}/login?next=%2Ffleet")
    shot(page, "8-logged-out")
    assert shutil.which("chromium") or CHROMIUM.exists()

"""What a printer says is text on every page: an SNMP agent is not trusted, and its sysName,
description, model, serial, supplies, meters' evidence, status and the alerts raised from them
reach the pages through templates with autoescape. A printer whose every string is a script is
polled into a real store, and every page that shows it is fetched through the dashboard's own app
(gate, body limits, templates) with a session; a sweep's result is rendered the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from printwatch.store import Store
from printwatch.web.auth.sessions import COOKIE
from printwatch.web.dashboard import Dashboard, dashboard_app
from printwatch.web.dashboard.discovery import sweep_form
from printwatch.web.dashboard.sweep import SweepResult
from printwatch.web.dashboard.view import TEMPLATES, render

from tests.store.docs import doc

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def hostile(address: str, t: dt.datetime, n: int) -> dict[str, Any]:
    """A poll document in which everything the agent chose is a script."""
    d = doc(address, t, serial=f"{SCRIPT}{n}", total=1000 + 10 * n, toner=80.0 - n)
    d["sys"].update(name=SCRIPT, descr=SCRIPT, location=SCRIPT, contact=SCRIPT)
    d.update(model=SCRIPT, mac=SCRIPT)
    d["status"]["errors"] = [SCRIPT]
    d["supplies"][0].update(description=SCRIPT, color=SCRIPT)
    d["meter_evidence"]["total"].update(rule=SCRIPT, oid=SCRIPT)
    return d


@dataclass
class Served:
    app: Any
    cookie: str

    async def get(self, path: str, **params: str) -> httpx.Response:
        """``path`` through the app (ASGI, in this Trio run) with the session's cookie."""
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            c.cookies.set(COOKIE, self.cookie)
            return await c.get(path, params=params)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp_path = tmp_path_factory.mktemp("escaping")
    store = Store(tmp_path / "history.duckdb", poll_interval_s=3600.0)
    try:
        for n in range(3):
            store.ingest([hostile("10.9.0.1", NOW - dt.timedelta(days=2 - n), n)])
        con = store.con.cursor()
        con.execute(
            "INSERT INTO alert_log VALUES (1, 1, 'supply_low', ?, 'warning', ?, NULL, ?, ?, NULL)",
            [SCRIPT, NOW.replace(tzinfo=None), NOW.replace(tzinfo=None), SCRIPT],
        )
        con.close()
        dashboard, _first = Dashboard.open(store, tmp_path)
        dashboard.clock = lambda: NOW
        cookie, _session = dashboard.sessions.open("admin", must_change=False)
        yield Served(dashboard_app(dashboard), cookie)
    finally:
        store.close()


def test_autoescape_is_on_for_every_template() -> None:
    env = TEMPLATES.env
    assert env.list_templates()
    assert all(env.select_template([name]).environment.autoescape is True for name in env.list_templates())
    assert str(env.from_string("{{ x }}").render(x=SCRIPT)) == ESCAPED


@pytest.mark.parametrize("path", ["/fleet", "/fleet?q=10.9.0.1", "/printer/1", "/alerts"])
async def test_what_a_printer_says_is_escaped_on_every_page_that_shows_it(served: Served, path: str) -> None:
    r = await served.get(path)
    assert r.status_code == 200, r.text[:500]
    assert ESCAPED in r.text  # shown, as text
    assert SCRIPT not in r.text and "<script>alert" not in r.text


async def test_a_typed_filter_is_escaped_too(served: Served) -> None:
    r = await served.get("/fleet", q=SCRIPT)
    assert r.status_code == 200 and r.text.count('<a href="/printer/') == 3  # the three match it
    assert f'value="{ESCAPED}"' in r.text and SCRIPT not in r.text


def test_a_sweeps_result_is_escaped() -> None:
    agent = SimpleNamespace(
        address="10.9.0.1", vendor=SCRIPT, model=SCRIPT, serial=SCRIPT, mac=SCRIPT, sweep=SCRIPT
    )
    found = SweepResult(
        ["10.9.0.0/24"], 254, [(agent, SimpleNamespace(outcome=SCRIPT, device_id=1))], 1, "done", 0.5
    )  # type: ignore[list-item]
    html = render(
        "discovery.html",
        csrf="token",
        targets=[SCRIPT],
        manual=[(SCRIPT, NOW)],
        message=SCRIPT,
        error=SCRIPT,
        sweep=sweep_form(found, networks=SCRIPT),
    )
    assert html.count(ESCAPED) >= 10 and SCRIPT not in html

"""The dashboard's HTML and SVG as functions of their data: what a printer's data gives, escaped.
(The pages against a real store are in test_dashboard_security.py / test_dashboard_browser.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from printwatch.web.auth import tls
from printwatch.web.auth.passwords import check_password, hash_password, password_problem
from printwatch.web.auth.sessions import LoginThrottle, Sessions
from printwatch.web.dashboard.alerts import alerts_table
from printwatch.web.dashboard.data import ALERT_COLUMNS, FleetQuery
from printwatch.web.dashboard.printer import supply_chart

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_supply_chart_draws_levels_and_the_forecast_line_to_empty() -> None:
    since = NOW - dt.timedelta(days=30)
    history = [(1, NOW - dt.timedelta(days=d), 80.0 - (10 - d) * 3) for d in range(10, 0, -1)]
    forecasts = [
        {"supply_index": 1, "description": "Black <Toner>", "color": "black", "percent_now": 53.0,
         "as_of": (NOW - dt.timedelta(days=1)).replace(tzinfo=None), "days_to_empty": 17.7,
         "empty_at": (NOW + dt.timedelta(days=16)).replace(tzinfo=None)},
        {"supply_index": 2, "description": "Waste", "color": None, "percent_now": None, "as_of": None,
         "days_to_empty": None, "empty_at": None},
    ]  # fmt: skip
    svg = supply_chart(history, forecasts, since, NOW)
    assert svg.count('<polyline class="series"') == 1 and svg.count('<line class="forecast"') == 1
    assert "Black &lt;Toner&gt;" in svg and "<Toner>" not in svg
    assert "empty 2026-12-16 (18 days)" in svg and "level unknown" in svg
    assert 'class="now"' in svg


def test_alerts_table_takes_the_alerts_views_columns_and_escapes_them() -> None:
    alert = dict.fromkeys(ALERT_COLUMNS)
    alert.update(
        alert_id=7, device_id=3, kind="supply_low", subject="1", severity="warning",
        opened_at=NOW - dt.timedelta(hours=3), last_seen=NOW, detail="<script>alert(1)</script>",
        notified_at=NOW - dt.timedelta(hours=2), device_name="lobby",
    )  # fmt: skip
    html = alerts_table([alert], NOW)
    assert '<a href="/printer/3">lobby</a>' in html and "<b>open</b>" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "<td>2026-11-30 10:00 UTC</td></tr>" in html  # notified_at
    assert "No alerts" in alerts_table([], NOW)
    assert "no <code>alerts</code> view" in alerts_table(None, NOW)


def test_fleet_query_parses_hand_typed_urls_into_known_values() -> None:
    q = FleetQuery.parse({"sort": "x; DROP TABLE", "dir": "desc", "state": "'", "page": "-4", "per": "7"})
    assert (q.sort, q.descending, q.state, q.page, q.per_page) == ("name", True, "", 1, 50)
    q = FleetQuery.parse({"sort": "pages", "state": "offline", "page": "3", "per": "200", "q": " hp "})
    assert (q.sort, q.state, q.page, q.per_page, q.text) == ("pages", "offline", 3, 200, "hp")


def test_scrypt_hashes_and_password_rules() -> None:
    stored = hash_password("correct horse", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert check_password("correct horse", stored) and not check_password("correct hors", stored)
    assert not check_password("x", "garbage") and not check_password("x", "md5$1$2$3$4$5")
    assert password_problem("short") and password_problem("same-password", "same-password")
    assert password_problem("a good long one", "old") is None


def test_sessions_expire_and_the_throttle_doubles_the_wait() -> None:
    now = [1000.0]
    sessions = Sessions(idle_s=60, max_s=600, clock=lambda: now[0])
    token, session = sessions.open("admin", must_change=False)
    assert sessions.get(token) is session and sessions.get("other") is None
    now[0] += 59
    assert sessions.get(token) is session  # idle time restarts
    now[0] += 61
    assert sessions.get(token) is None
    throttle = LoginThrottle(free_failures=2, window_s=900, max_delay_s=8, clock=lambda: now[0])
    waits = []
    for _ in range(7):
        waits.append(throttle.wait_s("10.0.0.1"))
        throttle.failed("10.0.0.1")
    assert waits == [0, 0, 1.0, 2.0, 4.0, 8.0, 8.0]  # doubling, capped
    assert throttle.wait_s("10.0.0.1") == 8  # capped
    assert throttle.wait_s("10.0.0.2") == 0  # per address
    now[0] += 8
    assert throttle.wait_s("10.0.0.1") == 0
    now[0] += 900
    throttle.failed("10.0.0.1")  # the old failures left the window
    assert throttle.wait_s("10.0.0.1") == 0


def test_tls_files_are_checked_and_a_self_signed_pair_is_made_once(tmp_path: Path) -> None:
    made = tls.self_signed(tmp_path / "web-tls", "127.0.0.1")
    again = tls.self_signed(tmp_path / "web-tls", "127.0.0.1")
    assert made.made_now and not again.made_now and made.fingerprint_sha256 == again.fingerprint_sha256
    assert tls.configured(made.cert, made.key).fingerprint_sha256 == made.fingerprint_sha256
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(tls.TlsError, match=str(bad)):
        tls.configured(made.cert, bad)
    with pytest.raises(tls.TlsError, match="not a readable PEM certificate"):
        tls.configured(bad, made.key)

"""Alerts from poll documents through a real store: open once, stay open, close with hysteresis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from printwatch.alerts import AlertService
from printwatch.config.model import AlertsConfig, Thresholds
from printwatch.store import Store

from tests.alerts.docs import at, doc, down, toner


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "h.duckdb", poll_interval_s=300, meter_interval_s=3600) as s:
        yield s


def cycle(store: Store, service: AlertService, *docs: dict[str, Any]) -> Any:
    result = store.ingest(list(docs))
    assert not result.refused and result.error is None
    return service.evaluate(list(docs))


def rows(store: Store, where: str = "true") -> list[dict[str, Any]]:
    cur = store.reader().execute(f"SELECT * FROM alerts WHERE {where} ORDER BY alert_id")
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def service(store: Store, **alerts: Any) -> AlertService:
    return AlertService(store, thresholds=Thresholds(supply_low_percent=20), alerts=AlertsConfig(**alerts))


def test_supply_low_opens_once_stays_open_and_closes_after_a_new_cartridge(store: Store) -> None:
    s = service(store)
    cycle(store, s, doc(at(0), supplies=[toner(30.0)]))
    assert rows(store) == []
    out = cycle(store, s, doc(at(5), supplies=[toner(18.0)]))
    assert len(out.opened) == 1
    for n, level in enumerate((17.0, 16.0, 15.0)):
        out = cycle(store, s, doc(at(10 + 5 * n), supplies=[toner(level)]))
        assert out.opened == [] and out.closed == []
    [alert] = rows(store)
    assert alert["kind"] == "supply_low" and alert["subject"] == "1" and alert["open"]
    assert alert["serial"] == "CNB1234567" and alert["address"] == "127.0.0.7"
    assert alert["opened_at"] == at(5) and alert["last_seen"] == at(20)
    assert "15%" in alert["detail"] and "Black Toner Cartridge" in alert["detail"]
    # A new cartridge: cleared at the first poll, closed after clear_after_polls (2).
    assert cycle(store, s, doc(at(25), supplies=[toner(100.0)])).closed == []
    assert cycle(store, s, doc(at(30), supplies=[toner(100.0)])).closed == [alert["alert_id"]]
    [closed] = rows(store)
    assert not closed["open"] and closed["closed_at"] == at(30)


def test_a_level_wobbling_around_the_threshold_does_not_flap(store: Store) -> None:
    """Hysteresis: once open, a low alert clears only at the threshold plus the margin (25%)."""
    s = service(store, clear_after_polls=1)
    levels = [19.0, 21.0, 19.0, 22.0, 20.0, 24.0, 19.0, 23.0]
    for n, level in enumerate(levels):
        state = "low" if level <= 20 else "ok"
        cycle(store, s, doc(at(5 * n), supplies=[toner(level, state)]))
    [alert] = rows(store)
    assert alert["open"]
    cycle(store, s, doc(at(100), supplies=[toner(26.0)]))
    [alert] = rows(store)
    assert not alert["open"]


def test_empty_is_its_own_critical_alert_beside_low(store: Store) -> None:
    s = service(store)
    cycle(store, s, doc(at(0), supplies=[toner(5.0)]))
    cycle(store, s, doc(at(5), supplies=[toner(0.0)]))
    kinds = {(a["kind"], a["severity"]) for a in rows(store, "open")}
    assert kinds == {("supply_low", "warning"), ("supply_empty", "critical")}


def test_a_supply_with_only_a_state_and_a_waste_box_filling_up(store: Store) -> None:
    s = service(store)
    waste = {**toner(None, "low", index=2), "type": "wasteToner", "class": "filled"}
    cycle(store, s, doc(at(0), supplies=[toner(None, "low"), waste]))
    [alert] = rows(store)
    assert alert["subject"] == "1" and "low" in alert["detail"]
    cycle(store, s, doc(at(5), supplies=[toner(None, "some_remaining"), waste]))
    cycle(store, s, doc(at(10), supplies=[toner(None, "some_remaining"), waste]))
    assert rows(store, "open") == []


def test_offline_needs_the_configured_misses_in_a_row_so_a_dozing_printer_does_not_flap(store: Store) -> None:
    s = service(store)  # offline_after_misses = 3
    t = 0
    cycle(store, s, doc(at(t)))
    # Power save: a missed poll now and then, never three in a row.
    for pattern in ("x.", "xx.", "x.", "xx."):
        for c in pattern:
            t += 5
            cycle(store, s, down(at(t)) if c == "x" else doc(at(t)))
    assert rows(store) == []
    # Really off: opens at the third miss, once, and stays open.
    opened = []
    for _ in range(6):
        t += 5
        opened += cycle(store, s, down(at(t))).opened
    [alert] = rows(store)
    assert opened == [alert["alert_id"]] and alert["kind"] == "offline" and alert["opened_at"] == at(t - 15)
    assert alert["last_seen"] == at(t)
    # Back: closes after two answers (clear_after_polls); one answer then a miss keeps it open.
    cycle(store, s, doc(at(t + 5)))
    cycle(store, s, down(at(t + 10)))
    cycle(store, s, doc(at(t + 15)))
    assert rows(store, "open")
    cycle(store, s, doc(at(t + 20)))
    assert rows(store, "open") == [] and len(rows(store)) == 1


def test_supply_alerts_of_an_offline_printer_stay_as_they_were(store: Store) -> None:
    s = service(store)
    cycle(store, s, doc(at(0), supplies=[toner(10.0)]))
    for n in range(1, 5):
        cycle(store, s, down(at(5 * n)))
    kinds = sorted(a["kind"] for a in rows(store, "open"))
    assert kinds == ["offline", "supply_low"]


def test_faults_from_error_bits_and_the_alert_table(store: Store) -> None:
    s = service(store)
    jam = {
        "index": 7,
        "severity": "critical",
        "training": "untrained",
        "group": "mediaPath",
        "location": 2,
        "code": "jam",
        "description": "Paper jam in tray 2",
    }
    toner_low = {
        "index": 8,
        "severity": "warning",
        "training": "trained",
        "group": "markerSupplies",
        "location": 1,
        "code": "markerTonerAlmostEmpty",
        "description": "Toner low",
    }
    cycle(store, s, doc(at(0), errors=["doorOpen", "lowToner"], alerts=[jam, toner_low]))
    got = {(a["subject"], a["severity"]) for a in rows(store, "open")}
    assert got == {("doorOpen", "critical"), ("jam@mediaPath/2", "critical")}
    # The door is closed: gone after two polls; the jam stays.
    cycle(store, s, doc(at(5), alerts=[jam]))
    cycle(store, s, doc(at(10), alerts=[jam]))
    assert {a["subject"] for a in rows(store, "open")} == {"jam@mediaPath/2"}
    assert [a["subject"] for a in rows(store, "NOT open")] == ["doorOpen"]


def test_a_fault_that_comes_back_opens_a_new_alert(store: Store) -> None:
    s = service(store, clear_after_polls=1)
    for n, errors in enumerate((["noPaper"], [], ["noPaper"])):
        cycle(store, s, doc(at(5 * n), errors=errors))
    alerts = rows(store)
    assert [(a["subject"], a["open"]) for a in alerts] == [("noPaper", False), ("noPaper", True)]


def test_supply_runs_out_within_the_reorder_lead_time(store: Store) -> None:
    """2% a day from 40%: the forecast says about 20 days; a 7-day lead time is not reached, a
    30-day one is; a new cartridge clears it (no forecast after a replacement)."""
    s = service(store, reorder_lead_days=30.0)
    start = at(0)
    for day in range(4):
        when = start + dt.timedelta(days=day)
        cycle(store, s, doc(when, supplies=[toner(40.0 - 2 * day)]))
    [alert] = rows(store)
    assert alert["kind"] == "supply_runout" and "runs out in" in alert["detail"]
    forecast = store.reader().execute("SELECT days_to_empty FROM supply_forecast").fetchone()
    assert forecast is not None and 15 < forecast[0] < 20
    short = service(store, reorder_lead_days=7.0)
    cycle(store, short, doc(start + dt.timedelta(days=4), supplies=[toner(32.0)]))
    cycle(store, short, doc(start + dt.timedelta(days=4, minutes=5), supplies=[toner(32.0)]))
    assert rows(store, "open") == []  # 15 days > 1.25 x 7 + 1: cleared twice, closed
    cycle(store, s, doc(start + dt.timedelta(days=5), supplies=[toner(30.0)]))
    assert [a["kind"] for a in rows(store, "open")] == ["supply_runout"]
    for n in range(2):
        cycle(store, s, doc(start + dt.timedelta(days=5, minutes=5 + n), supplies=[toner(100.0)]))
    assert rows(store, "open") == []


def test_billing_read_missing_after_the_configured_hours(store: Store) -> None:
    s = service(store, billing_missing_hours=2.0)
    cycle(store, s, doc(at(0)))
    # The printer answers but gives no meter for three hours (the vendor table broke).
    for n in range(1, 37):
        cycle(store, s, doc(at(5 * n), meters={}))
    [alert] = rows(store)
    assert alert["kind"] == "billing_read_missing" and alert["opened_at"] == at(120)
    assert "since 2026-11-02 08:00 UTC" in alert["detail"]
    cycle(store, s, doc(at(190)))
    cycle(store, s, doc(at(195)))
    assert rows(store, "open") == []


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Store(path) as store:
        s = service(store)
        cycle(store, s, doc(at(0)))
        cycle(store, s, down(at(5)))
        cycle(store, s, down(at(10)))
    with Store(path) as store:
        s = service(store)
        assert cycle(store, s, down(at(15))).opened  # the third miss in a row, counted across
        assert [a["kind"] for a in rows(store)] == ["offline"]


def test_two_printers_are_tracked_apart(store: Store) -> None:
    s = service(store)
    a, b = "127.0.0.8:161", "127.0.0.9:161"
    cycle(store, s, doc(at(0), target=a, serial="AAAA1111"), doc(at(0), target=b, serial="BBBB2222"))
    for n in range(1, 4):
        cycle(store, s, doc(at(5 * n), target=a, serial="AAAA1111"), down(at(5 * n), target=b))
    [alert] = rows(store)
    assert alert["serial"] == "BBBB2222" and alert["kind"] == "offline"


def test_the_alerts_of_a_printer_replaced_at_its_address_close(store: Store) -> None:
    """A new printer (another serial) at an old one's address: the old device is gone, and its
    offline alert closes after the clearing polls instead of staying open for ever."""
    s = service(store)
    cycle(store, s, doc(at(0), serial="OLD0000001"))
    for n in (1, 2, 3):
        cycle(store, s, down(at(5 * n)))
    [alert] = rows(store)
    assert alert["kind"] == "offline" and alert["serial"] == "OLD0000001" and alert["open"]
    cycle(store, s, doc(at(20), serial="NEW0000002"))
    cycle(store, s, doc(at(25), serial="NEW0000002"))
    [alert] = rows(store)
    assert not alert["open"] and alert["closed_at"] == at(25)

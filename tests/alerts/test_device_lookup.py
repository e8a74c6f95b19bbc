"""The alerts find each document's device in the registry while no address changed holder, and
read the store's ``device_state`` back otherwise: the devices found must be those the store
filed the documents under, through new printers, replaced, moved, swapped and re-identified
ones, exclusions and refused documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from printwatch.alerts import AlertService
from printwatch.config.model import AlertsConfig, Thresholds
from printwatch.store import Store, parse_time, target_address

from tests.alerts.docs import at, doc, down, toner

Docs = list[dict[str, Any]]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "h.duckdb", poll_interval_s=60, meter_interval_s=3600) as s:
        yield s


def filed_under(store: Store, docs: Docs) -> list[int | None]:
    """What the store wrote: each document's device by its ``device_state`` row of this poll
    (the target it was written with, or its address), as the alerts read it back before."""
    as_of = min(parse_time(d["time"], "document") for d in docs)
    with store.reading() as con:
        rows = con.execute(
            "SELECT device_id, target FROM device_state WHERE last_poll_at >= ?", [as_of]
        ).fetchall()
    by_target = {str(t): int(d) for d, t in rows}
    return [by_target.get(d["target"], by_target.get(target_address(d["target"]))) for d in docs]


def run(store: Store, alerts: AlertService, docs: Docs) -> tuple[list[int | None], bool]:
    """One poll written and evaluated: (the devices the alerts found, whether the registry
    gave them); they must be those the store filed the documents under."""
    seen: list[list[int | None]] = []
    inner: Callable[..., list[int | None]] = alerts._filed_under

    def spy(con: Any, docs_: Any, as_of: dt.datetime) -> list[int | None]:
        seen.append(inner(con, docs_, as_of))
        return seen[-1]

    before = alerts.lookups_from_registry
    store.ingest(docs)
    alerts._filed_under = spy  # type: ignore[method-assign,assignment]
    try:
        alerts.evaluate(docs)
    finally:
        del alerts._filed_under
    [found] = seen
    assert found == filed_under(store, docs)
    return found, alerts.lookups_from_registry > before


def printer(
    minute: float, address: str, serial: str | None, mac: str | None = None, **kw: Any
) -> dict[str, Any]:
    d = doc(at(minute), target=f"{address}:161", serial=serial or "", **kw)
    d["serial"], d["mac"] = serial, mac
    return d


def test_devices_follow_new_replaced_moved_and_swapped_printers(store: Store) -> None:
    alerts = AlertService(store, thresholds=Thresholds(supply_low_percent=20), alerts=AlertsConfig())
    fleet = {"10.0.0.1": "SER-A1", "10.0.0.2": "SER-B1", "10.0.0.3": "SER-C1"}

    def poll(minute: float, **low: float) -> Docs:
        return [printer(minute, a, s, supplies=[toner(low.get(s, 80.0))]) for a, s in sorted(fleet.items())]

    first, from_registry = run(store, alerts, poll(0))
    assert None not in first and not from_registry  # new printers: read back
    again, from_registry = run(store, alerts, poll(1))
    assert again == first and from_registry  # nothing moved: the registry says
    assert run(store, alerts, poll(1.5)) == (first, True)  # (the same targets: kept)
    # Another printer at 10.0.0.2 (the old one gone): read back, then the registry has it.
    fleet["10.0.0.2"] = "SER-D1"
    replaced, from_registry = run(store, alerts, poll(2, **{"SER-D1": 10.0}))
    assert not from_registry and replaced[1] not in first and replaced[::2] == first[::2]
    again, from_registry = run(store, alerts, poll(3, **{"SER-D1": 10.0}))
    assert again == replaced and from_registry
    # The low toner of the new printer is its alert, not the one that left.
    with store.reading() as con:
        low = con.execute("SELECT device_id FROM alert_log WHERE kind = 'supply_low'").fetchall()
    assert low == [(replaced[1],)]
    # Two printers swap addresses.
    fleet["10.0.0.1"], fleet["10.0.0.3"] = fleet["10.0.0.3"], fleet["10.0.0.1"]
    swapped, from_registry = run(store, alerts, poll(4))
    assert not from_registry and swapped == [first[2], replaced[1], first[0]]
    assert run(store, alerts, poll(5)) == (swapped, True)
    # A printer moves (its old address silent): the old address's document is filed under it
    # while it holds both, and the alerts find what the store filed either way.
    moved = poll(30)
    moved.append(printer(30, "10.0.0.9", fleet.pop("10.0.0.2")))
    moved[1] = down(at(30), target="10.0.0.2:161")
    run(store, alerts, moved)
    run(store, alerts, [*poll(31), printer(31, "10.0.0.9", "SER-D1"), down(at(31), target="10.0.0.2:161")])


def test_re_identified_printers_and_unknown_addresses(store: Store) -> None:
    alerts = AlertService(store)
    # Known by its MAC, then by its serial: the same device (its identity upgraded).
    by_mac = printer(0, "10.0.1.1", None, mac="00:11:22:33:44:55")
    unknown = down(at(0), target="10.0.1.7:161")  # never answered: filed under nothing
    [mac_device, none], _ = run(store, alerts, [by_mac, unknown])
    assert none is None
    with_serial = printer(1, "10.0.1.1", "SER-E1", mac="00:11:22:33:44:55")
    assert run(store, alerts, [with_serial, down(at(1), target="10.0.1.7:161")])[0] == [mac_device, None]
    with_serial = printer(2, "10.0.1.1", "SER-E1", mac="00:11:22:33:44:55")
    assert run(store, alerts, [with_serial, down(at(2), target="10.0.1.7:161")]) == ([mac_device, None], True)
    # Unreachable, then back: the same device, from the registry.
    assert run(store, alerts, [down(at(3), target="10.0.1.1:161")]) == ([mac_device], True)


def test_exclusions_and_refused_documents_are_read_back(store: Store) -> None:
    alerts = AlertService(store)
    docs = [printer(0, "10.0.2.1", "SER-F1"), printer(0, "10.0.2.2", "SER-G1")]
    run(store, alerts, docs)
    assert run(store, alerts, [printer(1, "10.0.2.1", "SER-F1"), printer(1, "10.0.2.2", "SER-G1")])[1]
    # A document the store refuses ('supplies' not a list): not filed, and not found.
    broken = {**printer(2, "10.0.2.2", "SER-G1"), "supplies": {"1": "?"}}
    found, _ = run(store, alerts, [printer(2, "10.0.2.1", "SER-F1"), broken])
    assert found[1] is None and found[0] is not None
    # An excluded address: its answers are refused from then on.
    store.exclude("10.0.2.1/32")
    found, _ = run(store, alerts, [printer(3, "10.0.2.1", "SER-F1"), printer(3, "10.0.2.2", "SER-G1")])
    assert found[0] is None and found[1] is not None
    found, _ = run(store, alerts, [printer(4, "10.0.2.1", "SER-F1"), printer(4, "10.0.2.2", "SER-G1")])
    assert found[0] is None and found[1] is not None

"""The device registry's identity rules (issue 5), through the store so every change is persisted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from printwatch.store import Sighting, Store, normalize_mac, normalize_serial
from printwatch.web.dashboard.data import DashboardData, FleetQuery
from printwatch.web.dashboard.fleet import context as fleet_context
from printwatch.web.dashboard.view import render

from tests.store.docs import T0

LATER = T0 + timedelta(hours=2)


def test_serial_and_mac_normalization() -> None:
    assert normalize_serial(" cnb-8k1 2345\x00") == "CNB8K12345"
    for junk in (None, "", "0000000000", "UNKNOWN", "n/a", "xx", "FFFFFFFF"):
        assert normalize_serial(junk) is None
    assert normalize_mac("00-1B-A9-3C-4D-5E") == "00:1b:a9:3c:4d:5e"
    assert normalize_mac("001ba93c4d5e") == "00:1b:a9:3c:4d:5e"
    assert normalize_mac("00:00:00:00:00:00") is None
    assert normalize_mac("garbage") is None


def reopen(store: Store) -> Store:
    store.close()
    return Store(store.path)


def test_a_printer_that_moves_keeps_its_device(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    [first] = store.upsert([Sighting("10.0.0.5", T0, serial="CNB8K12345", vendor="hp")])
    assert first.outcome == "new"
    [moved] = store.upsert([Sighting("10.0.0.9", LATER, serial="cnb8k1-2345")])
    assert (moved.device_id, moved.outcome) == (first.device_id, "moved")
    store = reopen(store)
    assert store.registry.device_at("10.0.0.9") == first.device_id
    assert store.registry.device_at("10.0.0.5") is None
    row = store.reader().execute("SELECT address, addresses, state FROM devices").fetchall()
    assert row == [("10.0.0.9", ["10.0.0.9"], "unknown")]
    store.close()


def test_a_new_printer_at_an_old_address_is_a_new_device_and_the_old_is_gone(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    [old] = store.upsert([Sighting("10.0.0.5", T0, serial="CNB8K12345")])
    [new] = store.upsert([Sighting("10.0.0.5", LATER, serial="XRX0099887")])
    assert new.outcome == "new" and new.device_id != old.device_id
    assert new.displaced_device_id == old.device_id
    store = reopen(store)
    rows = (
        store.reader().execute("SELECT serial, state, gone_reason FROM devices ORDER BY device_id").fetchall()
    )
    assert rows[0][:2] == ("CNB8K12345", "gone") and "10.0.0.5" in rows[0][2]
    assert rows[1][:2] == ("XRX0099887", "unknown")
    # The old printer turns up elsewhere: same device again, no longer gone.
    [back] = store.upsert([Sighting("10.0.0.7", LATER + timedelta(hours=1), serial="CNB8K12345")])
    assert back.device_id == old.device_id
    assert store.reader().execute(
        "SELECT state FROM devices WHERE device_id = ?", [old.device_id]
    ).fetchone() == ("unknown",)
    store.close()


def test_the_same_printer_on_two_addresses_is_one_device(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    results = store.upsert(
        [Sighting("10.0.0.5", T0, serial="CNB8K12345"), Sighting("10.0.1.5", T0, serial="CNB8K12345")]
    )
    assert [r.outcome for r in results] == ["new", "added_address"]
    assert results[0].device_id == results[1].device_id
    # Both keep answering: still one device with both addresses.
    store.upsert(
        [Sighting("10.0.0.5", LATER, serial="CNB8K12345"), Sighting("10.0.1.5", LATER, serial="CNB8K12345")]
    )
    store = reopen(store)
    assert store.reader().execute("SELECT count(*), any_value(addresses) FROM devices").fetchone() == (
        1,
        ["10.0.0.5", "10.0.1.5"],
    )
    assert store.targets() == ["10.0.0.5", "10.0.1.5"]
    store.close()


def test_mac_then_address_only_when_the_serial_is_missing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    [by_mac] = store.upsert([Sighting("10.0.0.5", T0, serial="0000000", mac="00-1B-A9-3C-4D-5E", model="M1")])
    [moved] = store.upsert([Sighting("10.0.0.6", LATER, mac="00:1b:a9:3c:4d:5e")])
    assert moved.device_id == by_mac.device_id and moved.outcome == "moved"
    # The serial shows up later: the MAC-keyed device keeps its history under the serial.
    [upgraded] = store.upsert([Sighting("10.0.0.6", LATER, serial="E7X011223", mac="00:1b:a9:3c:4d:5e")])
    assert (upgraded.device_id, upgraded.outcome) == (by_mac.device_id, "identity_upgraded")
    [by_address] = store.upsert([Sighting("10.0.0.8", T0, model="Generic")])
    [same] = store.upsert([Sighting("10.0.0.8", LATER, model="Generic")])
    assert same.device_id == by_address.device_id and by_address.outcome == "new"
    store = reopen(store)
    kinds = store.reader().execute("SELECT identity FROM device_registry ORDER BY device_id").fetchall()
    assert kinds == [("serial:E7X011223",), ("address:10.0.0.8",)]
    store.close()


def test_manual_targets_and_exclusions(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert store.add_manual("localhost") == "127.0.0.1"
    assert store.add_manual("10.1.2.3") == "10.1.2.3"
    with pytest.raises(ValueError, match="does not resolve"):
        store.add_manual("no-such-host.invalid")
    store.exclude("10.9.0.0/16", "the lab")
    with pytest.raises(ValueError, match="not an address or CIDR"):
        store.exclude("10.9.0.0/99")
    with pytest.raises(ValueError, match="is excluded"):
        store.add_manual("10.9.4.4")
    [refused] = store.upsert([Sighting("10.9.1.1", T0, serial="CNB8K12345")])
    assert (refused.device_id, refused.outcome) == (None, "excluded")
    store = reopen(store)
    assert store.targets() == ["10.1.2.3", "127.0.0.1"]
    assert store.registry.excluded("10.9.200.1") and not store.registry.excluded("10.8.0.1")
    store.close()


def poll_doc(address: str, at: datetime, serial: str, total: int) -> dict[str, object]:
    """An answering poll document with a serial and a total meter."""
    return {
        "target": f"{address}:161",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reachable": True,
        "serial": serial,
        "vendor": "hp",
        "status": {"device": "running", "printer": "idle", "errors": []},
        "meters": {"total": total},
    }


def test_a_rogue_claiming_a_known_serial_is_kept_apart_until_an_admin_decides(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", meter_interval_s=0)
    home, rogue, serial = "10.0.0.50", "10.0.0.5", "CNB8K12345"
    store.ingest([poll_doc(home, T0, serial, 120_000)])
    [device] = store.reader().execute("SELECT device_id FROM devices").fetchone() or []
    # the rogue sorts first and answers with the printer's serial and other meters, same cycle
    t1 = T0 + timedelta(minutes=5)
    store.ingest([poll_doc(rogue, t1, serial, 5_000), poll_doc(home, t1, serial, 120_040)])
    t2 = T0 + timedelta(minutes=10)
    store = reopen(store)  # the conflict is in the file
    store.ingest([poll_doc(rogue, t2, serial, 5_010), poll_doc(home, t2, serial, 120_090)])
    con = store.reader()
    history = con.execute("SELECT value FROM meter_history WHERE device_id = ? ORDER BY time", [device])
    assert [v for (v,) in history.fetchall()] == [120_000, 120_040, 120_090]  # nothing of the rogue's
    rows = con.execute("SELECT device_id, identity, addresses FROM devices ORDER BY device_id").fetchall()
    assert rows == [(device, f"serial:{serial}", [home]), (device + 1, f"conflict:{serial}@{rogue}", [rogue])]
    kept_apart = con.execute(
        "SELECT value FROM meter_history WHERE device_id = ? ORDER BY time", [device + 1]
    )
    assert [v for (v,) in kept_apart.fetchall()] == [5_000, 5_010]
    [event] = con.execute("SELECT detail FROM registry_events WHERE kind = 'serial_conflict'").fetchall()
    claim = f"{rogue} claims serial {serial} of device {device} ({home})"
    assert event[0] == f"{claim}: meter total 5000 there, 120040 at {home}"
    data = DashboardData(store.reading)  # the fleet page says so until it is decided
    with data.reading():
        fleet = data.fleet(FleetQuery.parse({}))
    assert fleet.conflicts == [event[0]]
    shown = render("fleet.html", csrf="csrf", **fleet_context(fleet, t2.replace(tzinfo=UTC)))
    assert f"Serial conflict: {event[0]}" in shown
    # the admin decides: another device; its address is excluded, the printer keeps its history
    store.resolve_conflict(rogue, same_printer=False, at=t2)
    store = reopen(store)
    assert store.targets() == [home] and store.registry.conflicts == {}
    data = DashboardData(store.reading)
    with data.reading():
        assert data.fleet(FleetQuery.parse({})).conflicts == []
    with pytest.raises(ValueError, match="no open serial conflict"):
        store.resolve_conflict(rogue, same_printer=False, at=t2)
    store.close()


def test_a_printer_on_two_interfaces_agrees_with_itself_and_a_decision_is_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", meter_interval_s=0)
    wired, wifi, serial = "10.0.0.50", "10.0.1.50", "CNB8K12345"
    store.ingest(
        [poll_doc(wired, T0, serial, 120_000), poll_doc(wifi, T0 + timedelta(seconds=20), serial, 120_002)]
    )
    assert store.registry.conflicts == {}  # the same meters, a few pages apart: one device, two addresses
    assert store.reader().execute("SELECT count(*), any_value(addresses) FROM devices").fetchone() == (
        1,
        [wired, wifi],
    )
    # meters that disagree on a second interface: flagged; the admin says it is the printer
    t1 = T0 + timedelta(minutes=5)
    store.ingest([poll_doc(wired, t1, serial, 120_010), poll_doc(wifi, t1, serial, 99_000)])
    assert [c.address for c in store.registry.conflicts.values()] == [wifi]
    store.resolve_conflict(wifi, same_printer=True, at=t1)
    store = reopen(store)
    t2 = T0 + timedelta(minutes=10)
    store.ingest([poll_doc(wired, t2, serial, 120_020), poll_doc(wifi, t2, serial, 99_010)])
    assert store.registry.conflicts == {}  # not flagged again
    state = store.reader().execute("SELECT device_id, state FROM devices ORDER BY device_id").fetchall()
    assert state == [(1, "running"), (2, "gone")]  # the claimant device, its kept reads, gone
    store.close()


def test_targets_are_kept_sorted_and_made_again_on_every_change() -> None:
    """``targets()`` is cached for /health; a new address, a moved one or an exclusion renews it."""
    from printwatch.store.registry import Registry

    registry = Registry()
    for i in range(300):
        registry.by_address[f"10.0.{i // 100}.{i % 100 + 1}"] = i
    first = registry.targets()
    assert first == sorted(first, key=lambda a: tuple(int(x) for x in a.split(".")))
    assert registry.targets() == first and registry.targets() is not registry.targets()
    registry.by_address["10.0.9.1"] = 1
    assert registry.targets()[-1] == "10.0.9.1"
    del registry.by_address["10.0.9.1"]
    registry.by_address["9.0.0.1"] = 1  # a move: as many addresses as before, not the same ones
    assert registry.targets()[0] == "9.0.0.1" and len(registry.targets()) == 301
    registry.exclude("10.0.0.0/24", T0)
    assert [a for a in registry.targets() if a.startswith("10.0.0.")] == []
    registry.manual["printer.lan"] = None
    assert registry.targets()[-1] == "printer.lan"


def test_claims_open_in_the_order_of_their_first_valid_document(tmp_path: Path) -> None:
    """``check_claims`` reads times and meters only of serials claimed twice; the conflicts (and
    their claimants' device ids) still come in the order of each serial's first document that
    makes a claim: a document with a bad time makes none, and the ingest refuses it."""
    store = Store(tmp_path / "s.duckdb", meter_interval_s=0)
    a, b = "CNB8K1AAAA", "CNB8K1BBBB"
    store.ingest([poll_doc("10.0.0.50", T0, a, 1_000), poll_doc("10.0.0.60", T0, b, 1_000)])
    t1 = T0 + timedelta(minutes=5)
    bad = poll_doc("10.0.0.5", t1, a, 9)
    bad["time"] = "yesterday"
    docs = [bad, poll_doc("10.0.0.6", t1, b, 9), poll_doc("10.0.0.7", t1, a, 9),
            poll_doc("10.0.0.50", t1, a, 1_001), poll_doc("10.0.0.60", t1, b, 1_001)]  # fmt: skip
    opened = store.registry.check_claims(docs, 300)
    assert [(c.serial, c.address) for c in opened] == [(b, "10.0.0.6"), (a, "10.0.0.7")]
    assert [c.claimant_id for c in opened] == [3, 4]
    assert store.registry.check_claims([poll_doc("10.0.0.8", t1, a, 9)], 300) == []  # one claim: none
    store.close()

"""Ingestion of poll documents and the public views computed from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from printwatch.store import Store, StoreError
from printwatch.store import schema as schema_mod

from tests.store.docs import T0, doc, every


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return store.reader().execute(sql, list(params)).fetchall()


def test_views_exist_with_their_contract_columns(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest([doc("10.0.0.1", T0)])
        columns = {
            view: [c[0] for c in store.reader().execute(f"SELECT * FROM {view} LIMIT 0").description or []]
            for view in (
                "devices",
                "supply_history",
                "meter_history",
                "pages_per_day",
                "supply_forecast",
                "missed_reads",
            )
        }
    assert {
        "device_id",
        "serial",
        "vendor",
        "model",
        "address",
        "site",
        "first_seen",
        "last_seen",
        "state",
    } <= set(columns["devices"])
    assert {"device_id", "time", "level", "max_capacity", "percent"} <= set(columns["supply_history"])
    assert {"device_id", "meter", "time", "value", "oid", "raw", "rule"} <= set(columns["meter_history"])
    assert columns["pages_per_day"][:3] == ["device_id", "day", "pages"]
    assert {"percent_now", "burn_percent_per_day", "days_to_empty", "empty_at"} <= set(
        columns["supply_forecast"]
    )
    assert {"device_id", "last_meter_at", "expected_at"} <= set(columns["missed_reads"])


def test_meter_history_keeps_evidence_and_thins_to_the_interval(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=3600) as store:
        for i, t in enumerate(every(5, 25)):  # two hours of five-minute polls
            store.ingest([doc("10.0.0.1", t, total=1000 + 7 * i, black=900 + 7 * i)])
        kept = rows(
            store, "SELECT meter, time, value, oid, raw, rule FROM meter_history ORDER BY meter, time"
        )
    assert [(r[0], r[1], r[2]) for r in kept] == [
        ("black", T0, 900), ("black", T0 + timedelta(hours=1), 984), ("black", T0 + timedelta(hours=2), 1068),
        ("total", T0, 1000), ("total", T0 + timedelta(hours=1), 1084),
        ("total", T0 + timedelta(hours=2), 1168),
    ]  # fmt: skip
    assert kept[3][3:] == ("1.3.6.1.2.1.43.10.2.1.4.1.1", 1000, "prtMarkerLifeCount")


def test_meters_that_go_backwards_are_events_and_no_negative_or_huge_day(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0) as store:
        day = timedelta(days=1)
        totals = [(T0, 10_000), (T0 + timedelta(hours=12), 10_500), (T0 + day, 11_000),
                  (T0 + day + timedelta(hours=1), 40),  # a reset (board swap)
                  (T0 + day + timedelta(hours=2), 240),
                  (T0 + 2 * day, 9_000_000),  # a jump no printer can print in a day
                  (T0 + 2 * day + timedelta(hours=1), 9_000_300)]  # fmt: skip
        for t, total in totals:
            store.ingest([doc("10.0.0.1", t, total=total)])
        events = rows(store, "SELECT kind, value_before, value_after FROM meter_events ORDER BY time")
        days = rows(store, "SELECT day, pages, discarded_steps FROM pages_per_day ORDER BY day")
        # The daily upkeep rolls closed days up: the same days, then and after more reads.
        moved = store.maintain(T0 + 2 * day + timedelta(hours=1, minutes=30))
        assert moved["pages_daily"] == 2
        assert rows(store, "SELECT day, pages, discarded_steps FROM pages_per_day ORDER BY day") == days
        store.ingest([doc("10.0.0.1", T0 + 2 * day + timedelta(hours=2), total=9_000_350)])
        store.maintain(T0 + 3 * day + timedelta(minutes=30))
        after = rows(store, "SELECT day, pages, discarded_steps FROM pages_per_day ORDER BY day")
        assert rows(store, "SELECT count(*) FROM pages_daily") == [(3,)]
    assert events == [("backwards", 11_000, 40), ("jump", 240, 9_000_000)]
    assert [(d.day, p, x) for d, p, x in days] == [(1, 500, 0), (2, 500 + 200, 1), (3, 300, 1)]
    assert after == [*days[:2], (days[2][0], 350, 1)]


def test_supply_forecast_fits_since_the_last_replacement(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        times = every(60, 24 * 6)  # six days, hourly
        for i, t in enumerate(times):
            # 4 points a day down from 90; replaced (back to 100) after three days, then 2 a day.
            level = 90 - 4 * i / 24 if i < 72 else 100 - 2 * (i - 72) / 24
            store.ingest([doc("10.0.0.1", t, toner=level), doc("10.0.0.2", t, serial="BRN555555", toner=50)])
        replaced = rows(store, "SELECT kind, percent_before, percent_after FROM supply_events")
        forecast = dict(
            (r[0], r[1:])
            for r in rows(
                store,
                "SELECT device_id, percent_now, burn_percent_per_day, days_to_empty, since_replacement, "
                "points FROM supply_forecast",
            )
        )
    assert replaced == [("replaced", 78.0, 100.0)]
    now, burn, days, since, points = forecast[1]
    assert since == times[72] and points >= 3
    assert burn == pytest.approx(2.0, rel=0.1) and days == pytest.approx(now / burn)
    # A level that never moves: no burn rate, no date — not a guess.
    assert forecast[2][1:3] == (None, None)


def test_forecast_is_null_with_too_little_history(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        for i, t in enumerate(every(60, 6)):
            store.ingest([doc("10.0.0.1", t, toner=80 - 2 * i)])
        assert rows(store, "SELECT burn_percent_per_day, days_to_empty, empty_at FROM supply_forecast") == [
            (None, None, None)
        ]


def test_missed_reads_and_status_changes(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", poll_interval_s=300) as store:
        times = every(5, 6)
        for i, t in enumerate(times):
            store.ingest(
                [doc("10.0.0.1", t, total=100 + i), doc("10.0.0.2", t, serial="OKI7777777", reachable=i < 2)]
            )
        missed = rows(store, "SELECT serial, last_meter_at, missed_polls, error FROM missed_reads")
        changes = rows(
            store, "SELECT device_id, time, reachable, error FROM status_changes ORDER BY device_id, time"
        )
        state = rows(store, "SELECT serial, state FROM devices ORDER BY device_id")
    assert missed == [("OKI7777777", times[1], 4, "timeout")]
    assert changes == [(1, times[0], True, None), (2, times[0], True, None), (2, times[2], False, "timeout")]
    assert state == [("XRX123456", "running"), ("OKI7777777", "offline")]


def test_bad_documents_are_refused_by_name_and_the_rest_kept(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        bad_time = doc("10.0.0.3", T0, serial="LEX3333333")
        bad_time["time"] = "yesterday"
        bad_supplies = doc("10.0.0.4", T0, serial="LEX4444444")
        bad_supplies["supplies"] = "full"
        result = store.ingest([doc("10.0.0.1", T0), {"no": "target"}, bad_time, bad_supplies, 42])  # type: ignore[list-item]
        assert result.error is None and result.devices == 1
        assert len(result.refused) == 4
        assert "document 2 ('10.0.0.3:161'): time 'yesterday' is not ISO 8601" in result.refused[1]
        assert "'supplies' is not a list" in result.refused[2]
        assert rows(store, "SELECT count(*) FROM meter_history") == [(1,)]
        assert rows(store, "SELECT address FROM devices") == [("10.0.0.1",)]


def test_two_addresses_of_one_printer_in_one_cycle_are_read_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0) as store:
        result = store.ingest([doc("10.0.0.1", T0), doc("10.0.1.1", T0)])
        assert result.devices == 1
        assert rows(store, "SELECT count(*) FROM meter_history") == [(1,)]
        assert rows(store, "SELECT addresses FROM devices") == [(["10.0.0.1", "10.0.1.1"],)]


def test_maintain_moves_rows_down_the_tiers_sorted_and_applies_retention(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0, retention_days=40) as store:
        times = every(180, 8 * 45, start=T0 - timedelta(days=31))  # 2026-10-01 .. 2026-11-14, 3-hourly
        for i, t in enumerate(times):
            store.ingest([doc("10.0.0.1", t, total=100 + i, toner=90 - (i % 500) * 0.2)])
            if t.hour == 21:  # the daily upkeep, as the appliance runs it after midnight
                store.maintain(t + timedelta(hours=3, minutes=5))
        all_rows = rows(store, "SELECT count(*), min(time), max(time) FROM meter_history")
        tiers = {t: rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in
                 ("meter_reads", "meter_reads_days", "meter_reads_recent")}  # fmt: skip
        in_order = rows(
            store,
            "SELECT bool_and(time > prev) FROM (SELECT time, lag(time) OVER () AS prev FROM meter_reads) "
            "WHERE prev IS NOT NULL",
        )
        levels = rows(store, "SELECT count(*) FROM supply_history")[0][0]
        levels_tiers = sum(
            rows(store, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("supply_levels", "supply_levels_days", "supply_levels_recent")
        )
    # Retention: 40 days before the last upkeep's day (2026-11-15) is 2026-10-06.
    assert all_rows[0][1:] == (datetime(2026, 10, 6), times[-1])
    assert all_rows[0][0] == len(times) - 5 * 8
    # October in the monthly tier, November's days in the days tier, nothing of the 15th yet.
    assert tiers == {"meter_reads": 26 * 8, "meter_reads_days": 14 * 8, "meter_reads_recent": 0}
    assert in_order == [(True,)] and levels == levels_tiers > 0


def test_migrations_run_once_in_order_and_an_old_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.duckdb"
    everything = list(schema_mod.MIGRATIONS)
    # A store written by the printwatch that knew only migration 1 ...
    monkeypatch.setattr(schema_mod, "MIGRATIONS", everything[:1])
    con = duckdb.connect(str(path))
    assert schema_mod.migrate(con) == [1]
    con.execute("INSERT INTO meter_reads_recent VALUES (1, TIMESTAMP '2026-11-01 10:00:00.25', 1000, NULL)")
    con.close()
    # ... opens in this one: migration 2 runs once, the rows are kept, their times to the second.
    monkeypatch.setattr(schema_mod, "MIGRATIONS", everything)
    with Store(path) as store:
        versions = [(m[0],) for m in everything]  # every later migration too (2, 3, ...)
        assert rows(store, "SELECT version FROM schema_version ORDER BY version") == versions
        assert rows(store, "SELECT time, value FROM meter_reads_recent") == [
            (datetime(2026, 11, 1, 10), 1000)
        ]
        assert rows(store, "SELECT data_type FROM duckdb_columns() WHERE table_name = 'meter_reads_days' "
                    "AND column_name = 'time'") == [("TIMESTAMP_S",)]  # fmt: skip
    extra = (everything[-1][0] + 1, "a test column", "ALTER TABLE device_registry ADD COLUMN note VARCHAR")
    monkeypatch.setattr(schema_mod, "MIGRATIONS", [*everything, extra])
    with Store(path) as store:
        store.ingest([doc("10.0.0.1", T0)])
        assert rows(store, "SELECT version FROM schema_version ORDER BY version") == [*versions, (extra[0],)]
        assert rows(store, "SELECT serial, note FROM device_registry") == [("XRX123456", None)]
    monkeypatch.setattr(schema_mod, "MIGRATIONS", everything)
    with pytest.raises(StoreError, match="newer than this printwatch"):
        Store(path)


def test_a_file_that_is_not_a_store_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.duckdb"):
        Store(path)


def test_kept_state_is_compact_and_reads_back_the_same(tmp_path: Path) -> None:
    """The ingestor's last row of each meter and supply is a slot of its columns (no object per
    series); of each device, a tuple; equal names are one object across devices; and the state
    read back from the file is the state kept."""
    addresses = [f"10.0.0.{n}" for n in range(1, 6)]
    with Store(tmp_path / "s.duckdb", meter_interval_s=600) as store:
        for i, t in enumerate(every(15, 4)):
            store.ingest(
                [
                    doc(a, t, serial=f"S{a}", total=1000 + 50 * i, black=800 + 40 * i, toner=80 - 3 * i)
                    for a in addresses
                ]
            )
        live = store.ingestor
        meters, supplies, states = live.meters.rows(), live.supplies.rows(), dict(live.states.rows)
        assert len(meters) == 10 and len(supplies) == 5 and len(live.meters) == 10
        assert all(type(row) is tuple for row in states.values())
        names = {id(key[1]) for key in live.meters}
        assert len(names) == 2  # "total" and "black", each held once for five devices
        assert len({row[3] for row in meters.values()}) == 1  # the last kept read: one cycle's
        assert all(row[4] == 1150 for (_, meter), row in meters.items() if meter == "total")
    with Store(tmp_path / "s.duckdb", meter_interval_s=600) as again:
        assert again.ingestor.meters.rows() == meters
        assert again.ingestor.supplies.rows() == supplies
        assert again.ingestor.states.rows == states and len(states) == 5


def test_a_count_beyond_64_bits_is_not_kept_and_the_rest_is(tmp_path: Path) -> None:
    """A document not made by the poller (which caps counts at 2^63-1) may hold a larger count:
    that meter or counter is not kept, as a value that is not a number; everything else is."""
    big = doc("10.0.0.1", T0, serial="SBIG1", total=2**64, black=900)
    big["meters"]["color"] = -(2**63)  # the lowest BIGINT: the kept columns' None, not a count
    big["sys"]["uptime_s"] = 2**64
    big["supplies"][0]["index"] = 2**40
    big["counters"] = [
        {"name": "copies", "oid": "1.3.6.1.4.1.11.2.3.9.4.2.1.1.16.1.1", "value": 2**70, "source": "hp"},
        {"name": "scans", "oid": "1.3.6.1.4.1.11.2.3.9.4.2.1.1.16.1.2", "value": 77, "source": "hp"},
    ]
    with Store(tmp_path / "s.duckdb") as store:
        result = store.ingest([big, doc("10.0.0.2", T0, serial="SOK12", total=500)])
        assert result.error is None and not result.refused
        con = store.reader()
        reads = con.execute(
            "SELECT serial, meter, value FROM meter_history JOIN devices USING (device_id) "
            "ORDER BY serial, meter"
        ).fetchall()
        assert reads == [("SBIG1", "black", 900), ("SOK12", "total", 500)]
        counters = con.execute("SELECT name, value FROM device_counters").fetchall()
        assert counters == [("scans", 77)]


def test_a_store_holding_the_lowest_bigint_opens(tmp_path: Path) -> None:
    """The lowest BIGINT, which the kept columns use as their None, read from a file (written by
    hand or by an older version) is read as None: the store opens, and the row stays whole."""
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.ingest([doc("10.0.0.1", T0, serial="SLOW1", total=1000)])
    con = duckdb.connect(str(path))
    con.execute("UPDATE meter_latest SET raw = -9223372036854775808")
    con.close()
    with Store(path) as again:
        [(key, row)] = again.ingestor.meters.rows().items()
        assert key[1] == "total" and row[4] == 1000 and row[5] is None
        result = again.ingest([doc("10.0.0.1", T0 + timedelta(hours=2), serial="SLOW1", total=1100)])
        assert result.error is None

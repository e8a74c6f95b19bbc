"""Named counters in the store: kept by the meters' rules, listed by the public views."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from printwatch.store import Store

from tests.store.docs import T0, doc, every

SHARP = "1.3.6.1.4.1.2385.1.1.19.2.1.3"


def sharp(address: str, t: Any, scans: int, other_name: str = "Scan to HDD", **kw: Any) -> dict[str, Any]:
    d = doc(address, t, total=121104, **kw)
    d["counters"] = [
        {"name": "Prints", "oid": f"{SHARP}.1.4.60", "value": 82214, "source": "sharp.counter_table"},
        {"name": "Black & White Scanner Count", "oid": f"{SHARP}.7.4.51", "value": scans,
         "source": "sharp.counter_table"},
        {"name": other_name, "oid": f"{SHARP}.8.4.50", "value": 6, "source": "sharp.counter_table"},
        {"name": "prtMarkerLifeCount.1.1", "oid": "1.3.6.1.2.1.43.10.2.1.4.1.1", "value": 121104,
         "source": "prtMarkerLifeCount", "unit": "impressions"},
    ]  # fmt: skip
    return d


def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.reader().execute(sql).fetchall()


def test_counters_are_kept_with_the_devices_names_and_thinned_like_meters(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=3600) as store:
        for i, t in enumerate(every(5, 25)):  # two hours of five-minute polls; scans go up by 1
            store.ingest([sharp("10.0.0.1", t, 6170 + i)])
        history = rows(
            store, "SELECT name, time, value FROM counter_history WHERE name LIKE 'Black%' ORDER BY time"
        )
        latest = rows(store, "SELECT name, oid, source, unit, value FROM device_counters ORDER BY oid")
        columns = [
            c[0] for c in store.reader().execute("SELECT * FROM counter_history LIMIT 0").description or []
        ]
        meters = rows(store, "SELECT DISTINCT meter FROM meter_history")
        pages = rows(store, "SELECT meter FROM pages_sources")
    assert columns == ["device_id", "name", "oid", "source", "unit", "time", "value"]
    # The first read, then one an hour (the meters' rule), never every poll.
    assert history == [
        ("Black & White Scanner Count", T0, 6170),
        ("Black & White Scanner Count", T0 + timedelta(hours=1), 6182),
        ("Black & White Scanner Count", T0 + timedelta(hours=2), 6194),
    ]
    assert latest == [
        (
            "prtMarkerLifeCount.1.1",
            "1.3.6.1.2.1.43.10.2.1.4.1.1",
            "prtMarkerLifeCount",
            "impressions",
            121104,
        ),
        ("Prints", f"{SHARP}.1.4.60", "sharp.counter_table", None, 82214),
        ("Black & White Scanner Count", f"{SHARP}.7.4.51", "sharp.counter_table", None, 6194),
        ("Scan to HDD", f"{SHARP}.8.4.50", "sharp.counter_table", None, 6),
    ]
    # Counters are not meters: meter_history and pages per day are what they were.
    assert meters == [("total",)] and pages == [("total",)]


def test_a_counter_going_backwards_is_an_event_and_the_store_reopens(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.ingest([sharp("10.0.0.1", T0, 6170)])
    with Store(path) as store:  # the kept state (source ids, last reads) is read back
        store.ingest([sharp("10.0.0.1", T0 + timedelta(minutes=5), 10)])
        # Another model names the row at the same OID otherwise: another counter.
        store.ingest(
            [sharp("10.0.0.1", T0 + timedelta(minutes=10), 10, other_name="Two Color Scan to HDD Count")]
        )
        events = rows(store, "SELECT meter, kind, value_before, value_after FROM meter_events")
        names = rows(
            store, f"SELECT name FROM counter_sources WHERE oid = '{SHARP}.8.4.50' ORDER BY source_id"
        )
        ids = rows(
            store,
            "SELECT count(*), count(DISTINCT source_id) FROM (SELECT source_id FROM meter_sources "
            "UNION ALL SELECT source_id FROM counter_sources)",
        )
    assert events == [(f"@{SHARP}.7.4.51 Black & White Scanner Count", "backwards", 6170, 10)]
    assert names == [("Scan to HDD",), ("Two Color Scan to HDD Count",)]
    assert ids[0][0] == ids[0][1] == 6  # one numbering across meters and counters


def test_bad_counters_are_skipped_and_a_non_list_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        d = sharp("10.0.0.1", T0, 6170)
        d["counters"] += [{"name": "no value", "oid": "1.3.6.1.4.1.1.1"}, "garbage", {"value": 5}]
        bad = doc("10.0.0.2", T0, serial="OTHER1234")
        bad["counters"] = {"Prints": 5}
        result = store.ingest([d, bad])
        counted = rows(store, "SELECT count(*) FROM device_counters")
    assert counted == [(4,)]
    assert result.refused == ["document 1 ('10.0.0.2:161'): 'counters' is not a list"]

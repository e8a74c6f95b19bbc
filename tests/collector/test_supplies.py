"""The reorder queue on both backends: one order per cartridge life (duplicate triggers folded),
states moved forward by users and recorded, installation seen from the levels, days to empty
from the forecast, the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from printwatch.collector import supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.supplies import OrderKey

from tests.support.collector import FedSite as Site

DAY0 = dt.datetime(2026, 11, 1, 8, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"], [2, "toner", "cyan", "Cyan Toner"]]


def day(k: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=k)


def levels(site: Site, at: dt.datetime, black: int, cyan: int) -> None:
    data = {"day": at.date().isoformat(), "polls": 1, "n": [1], "m": {}, "s": [[black, cyan]]}
    site.send("aggregate", data, at, now=at)


def queue_of(store: CollectorStore, now: dt.datetime, **kw: object) -> list[dict[str, object]]:
    return supplies.queue(store.con, now, **kw)  # type: ignore[arg-type]


def test_one_order_per_cartridge_life_moved_forward_and_installed_by_the_levels(
    collector_store: str | Path,
) -> None:
    store = CollectorStore(collector_store)
    site = Site(store)
    device = {"n": 1, "serial": "S1", "vendor": "HP", "model": "@SUM(1+1)", "supplies": LAYOUT}
    site.send("register", {"devices": [device]}, day(0), now=day(0))
    site.send("reorder", {"t": [[1, 1, 15.0, "low", 9.0]]}, day(0), now=day(0))
    # The same life again (the forecast firing after the point), and the cyan one.
    site.send("reorder", {"t": [[1, 1, 10.0, "runout", 5.0], [1, 2, 18.0, "low", None]]}, day(2), now=day(2))
    assert supplies.refresh(store) == {"opened": 2, "duplicates": 1, "installed": 0, "sites": 1}
    assert supplies.refresh(store) == {"opened": 0, "duplicates": 0, "installed": 0, "sites": 0}  # once
    black, cyan = queue_of(store, day(3))
    assert (black["supply"], black["color"], black["triggers"], black["percent"]) == (
        "Black Toner",
        "black",
        2,
        10.0,
    )
    assert black["days_to_empty"] == 4.0 and cyan["days_to_empty"] is None  # 5 days at day 2, one gone
    key = OrderKey("site-a", 1, 1, int(black["opened_seq"]))  # type: ignore[call-overload]
    supplies.set_state(store, key, "ordered", by="dee", now=day(3))
    supplies.set_state(store, key, "shipped", by="dee", now=day(3.5))
    with pytest.raises(supplies.SupplyError, match="only move forward"):
        supplies.set_state(store, key, "ordered", by="dee", now=day(4))
    with pytest.raises(supplies.SupplyError, match="not a state"):
        supplies.set_state(store, key, "cancelled'; DROP TABLE supply_orders; --", by="dee", now=day(4))
    with pytest.raises(LookupError):
        supplies.set_state(store, OrderKey("site-a", 1, 1, 999), "ordered", by="dee", now=day(4))
    # The levels: lower still, then a jump of a new cartridge.
    levels(site, day(4), 8, 17)
    levels(site, day(5), 98, 16)
    assert supplies.refresh(store)["installed"] == 1
    assert [o["state"] for o in queue_of(store, day(6))] == ["installed", "new"]
    assert [(e["state"], e["by"], e["at"]) for e in supplies.events(store.con, key)] == [
        ("new", "appliance", "2026-11-01T08:00:00Z"),
        ("ordered", "dee", "2026-11-04T08:00:00Z"),
        ("shipped", "dee", "2026-11-04T20:00:00Z"),
        ("installed", "auto", "2026-11-06T08:00:00Z"),
    ]
    assert supplies.events(store.con, key)[-1]["note"].startswith("level 8% -> 98%")
    # A trigger of the next life opens a new order.
    site.send("reorder", {"t": [[1, 1, 19.0, "low", 30.0]]}, day(40), now=day(40))
    assert supplies.refresh(store)["opened"] == 1
    assert [o["state"] for o in queue_of(store, day(40), states=("new",), site="site-a")] == ["new", "new"]
    # A customer's scope sees its own sites only.
    assert queue_of(store, day(40), scope=("o.site_id IN (?)", ["site-b"])) == []
    # The CSV: its columns, formula-like text made inert.
    parsed = list(csv.reader(io.StringIO(supplies.to_csv(queue_of(store, day(40))))))
    assert parsed[0] == list(supplies.CSV_COLUMNS) and len(parsed) == 4
    assert {row[2] for row in parsed[1:]} == {"'@SUM(1+1)"}
    store.close()

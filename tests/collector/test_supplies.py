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


def test_a_fold_counts_the_trigger_and_keeps_the_state_a_user_set(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    site = Site(store)
    device = {"n": 1, "serial": "S1", "vendor": "HP", "model": "M", "supplies": LAYOUT}
    site.send("register", {"devices": [device]}, day(0), now=day(0))
    site.send("reorder", {"t": [[1, 1, 15.0, "low", 9.0]]}, day(0), now=day(0))
    supplies.refresh(store)
    (order,) = queue_of(store, day(1))
    key = OrderKey("site-a", 1, 1, int(order["opened_seq"]))  # type: ignore[call-overload]
    supplies.set_state(store, key, "ordered", by="dee", now=day(1))
    # Two triggers of the same life in one message, and one of a supply seen for the first time.
    site.send(
        "reorder",
        {"t": [[1, 1, 12.0, "low", 7.0], [1, 1, 11.0, "runout", None], [1, 2, 9.0, "low", 3.0]]},
        day(2),
        now=day(2),
    )
    assert supplies.refresh(store) == {"opened": 1, "duplicates": 2, "installed": 0, "sites": 1}
    black, cyan = queue_of(store, day(2))
    assert (black["state"], black["state_by"], black["triggers"], black["percent"]) == (
        "ordered",
        "dee",
        3,
        11.0,
    )
    assert black["days_to_empty"] is None  # the latest trigger's (none), not an earlier one's
    assert (cyan["state"], cyan["triggers"], cyan["percent"], cyan["days_to_empty"]) == ("new", 1, 9.0, 3.0)
    assert [e["state"] for e in supplies.events(store.con, key)] == ["new", "ordered"]
    store.close()


def test_one_statement_updates_only_the_rows_its_condition_still_allows(collector_store: str | Path) -> None:
    """What an installation seen in the levels relies on: an order another front end or a user
    installed meanwhile is left alone, and only the orders updated are returned."""
    store = CollectorStore(collector_store)
    site = Site(store)
    device = {"n": 1, "serial": "S1", "vendor": "HP", "model": "M", "supplies": LAYOUT}
    site.send("register", {"devices": [device]}, day(0), now=day(0))
    site.send("reorder", {"t": [[1, 1, 15.0, "low", 9.0], [1, 2, 14.0, "low", None]]}, day(0), now=day(0))
    supplies.refresh(store)
    black, cyan = (OrderKey("site-a", 1, o["supply_index"], o["opened_seq"]) for o in queue_of(store, day(1)))  # type: ignore[arg-type]
    supplies.set_state(store, cyan, "installed", by="dee", now=day(1))
    with store.transaction() as con:
        done = store.update(
            con, "supply_orders", ["site_id", "n", "supply_index", "opened_seq"],
            ["site_id", "n", "supply_index", "opened_seq", "state_at", "percent"],
            [(*black.params(), day(2), None), (*cyan.params(), day(2), 50.0),
             ("site-a", 9, 9, 9, day(2), 1.0)],
            "state = 'installed', state_at = v.state_at, percent = v.percent, state_by = 'auto'",
            "AND supply_orders.state <> 'installed'",
        )  # fmt: skip
    assert [tuple(k) for k in done] == [tuple(black.params())]
    rows = {o["supply_index"]: o for o in queue_of(store, day(3))}
    assert (rows[1]["state"], rows[1]["state_by"], rows[1]["percent"]) == ("installed", "auto", None)
    assert (rows[2]["state"], rows[2]["state_by"], rows[2]["percent"]) == ("installed", "dee", 14.0)
    store.close()

"""When the supplies queue is refreshed (:func:`printwatch.collector.supplies.refresh`): where the
data changes — after an upload that brings triggers or levels, and by ``collector serve``'s
periodic task — and only for the sites that sent messages since; never by a reader (a reader
that wrote, and joined every order with every level, was a denial of service)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
import trio
from printwatch.collector import supplies
from printwatch.collector.server import create_app, refresh_supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.signing import seal

from tests.support.collector import FedSite, start_collector
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

NOW = dt.datetime(2026, 11, 3, 9, 0)
LAYOUT = [[1, "toner", "black", "Black Toner"], [2, "toner", "cyan", "Cyan Toner"]]
ENVELOPE = "application/vnd.printwatch.envelope"


def fed(store: CollectorStore, name: str) -> FedSite:
    site = FedSite(store, name)
    device = {"n": 1, "serial": f"{name}-S1", "vendor": "HP", "model": "M404", "supplies": LAYOUT}
    site.send("register", {"devices": [device]}, NOW - dt.timedelta(days=5))
    site.send("reorder", {"t": [[1, 1, 12.0, "low", 6.0]]}, NOW - dt.timedelta(days=2))
    return site


def marks(store: CollectorStore) -> list[tuple[object, ...]]:
    return [
        tuple(r) for r in store.con.execute("SELECT * FROM supply_refresh_marks ORDER BY site_id").fetchall()
    ]


def test_only_the_sites_that_sent_messages_since_are_refreshed(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    a, b = fed(store, "site-a"), fed(store, "site-b")
    assert supplies.refresh(store) == {"opened": 2, "duplicates": 0, "installed": 0, "sites": 2}
    assert marks(store) == [("site-a", 2), ("site-b", 2)]
    assert supplies.refresh(store)["sites"] == 0  # nothing new: one query on the sites
    b.send("reorder", {"t": [[1, 2, 9.0, "low", None]]}, NOW - dt.timedelta(days=1))
    assert supplies.refresh(store, "site-a")["sites"] == 0  # asked for another site: untouched
    assert supplies.refresh(store) == {"opened": 1, "duplicates": 0, "installed": 0, "sites": 1}
    assert marks(store) == [("site-a", 2), ("site-b", 3)]
    a.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[1, 1, 95]]}, NOW)
    assert supplies.refresh(store)["sites"] == 1  # the levels came to site-a alone
    store.close()


async def test_readers_only_read_an_upload_and_the_serve_task_refresh(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    a = fed(store, "site-a")
    token = create_token(store, "viewer desk", "viewer", now=NOW)
    app = create_app(store, now=lambda: NOW)
    collector = await start_collector(nursery, store, certs, now=lambda: NOW, app=app)
    trust = ssl.create_default_context(cafile=str(certs.ca_file))
    async with httpx.AsyncClient(
        base_url=collector.url, verify=trust, headers={"Authorization": f"Bearer {token}"}, timeout=20.0
    ) as c:
        # A reader sees the queue as the writers left it and writes nothing.
        for path in ("/api/supplies", "/api/supplies.csv", "/console/supplies"):
            assert (await c.get(path)).status_code < 500
        assert (await c.get("/api/supplies")).json() == []
        assert marks(store) == [] and store.con.execute("SELECT count(*) FROM supply_orders").fetchall() == [
            (0,)
        ]
        # An upload that brings a trigger refreshes its site before it is answered.
        a.seq += 1
        message = {"site": "site-a", "seq": a.seq, "kind": "reorder", "at": int(NOW.timestamp()),
                   "data": {"t": [[1, 2, 9.0, "low", 3.0]]}}  # fmt: skip
        sent = await c.post("/v1/upload", content=seal(a.me, encode_payload(message)),
                            headers={"Content-Type": ENVELOPE})  # fmt: skip
        assert sent.status_code == 200, sent.text
        assert [(o["site"], o["supply_index"]) for o in (await c.get("/api/supplies")).json()] == [
            ("site-a", 1),
            ("site-a", 2),
        ]
        # A site fed another way (another front end, collector receive): the serve task's turn.
        fed(store, "site-b")
        assert "site-b" not in (await c.get("/api/supplies.csv")).text
        with trio.fail_after(20):
            async with trio.open_nursery() as task:
                task.start_soon(lambda: refresh_supplies(app.state.db, store, every_s=0.05))
                for _ in range(400):  # bounded: 20 s at most
                    if "site-b" in (await c.get("/api/supplies.csv")).text:
                        break
                    await trio.sleep(0.05)
                task.cancel_scope.cancel()
        assert marks(store) == [("site-a", 3), ("site-b", 2)]
    await collector.stop()


def test_an_installation_seen_across_refreshes_from_the_lowest_level_before(
    collector_store: str | Path,
) -> None:
    """The levels of earlier refreshes count by their lowest: 12 % at the trigger, 8 % in one
    upload, 30 % in the next (not a jump from 8 by 30 points... 22), then 40 % (32 above 8): the
    order is installed at the 40 %'s time, by ``auto``, the note naming 8 % as the low."""
    store = CollectorStore(collector_store)
    a = fed(store, "site-a")
    supplies.refresh(store)
    for k, level in enumerate((8, 30, 40)):
        at = NOW + dt.timedelta(days=k)
        data = {"day": at.date().isoformat(), "polls": 1, "n": [1], "m": {}, "s": [[level, 50]]}
        a.send("aggregate", data, at)
        done = supplies.refresh(store)
        assert done["installed"] == (1 if level == 40 else 0), (level, done)
    (key,) = [supplies.OrderKey("site-a", 1, 1, int(o["opened_seq"])) for o in supplies.queue(store.con, NOW)]
    last = supplies.events(store.con, key)[-1]
    assert (last["state"], last["by"], last["at"]) == ("installed", "auto", "2026-11-05T09:00:00Z")
    assert last["note"].startswith("level 8% -> 40%")
    store.close()


def lowest(store: CollectorStore) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in store.con.execute(
            "SELECT n, supply_index, state, lowest FROM supply_orders ORDER BY n, supply_index"
        ).fetchall()
    ]


def test_each_refresh_reads_the_new_levels_against_the_lowest_kept(collector_store: str | Path) -> None:
    """An order keeps the lowest level seen (migration 12): a refresh reads only what came since
    the last, yet an installation is a jump over the lowest of all of them, and a lowest written
    by another front end that saw less never raises it."""
    store = CollectorStore(collector_store)
    site = fed(store, "site-a")  # an order for the black toner, opened at 12 %

    def level(percent: int, hours_after: int) -> None:
        at = NOW - dt.timedelta(days=2) + dt.timedelta(hours=hours_after)
        site.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[percent, 50]]}, at)
        supplies.refresh(store)

    level(10, 1)
    assert lowest(store) == [(1, 1, "new", 10.0)]
    level(8, 2)
    level(9, 3)
    assert lowest(store) == [(1, 1, "new", 8.0)]
    level(35, 4)  # 27 points over the lowest (8 %, two refreshes ago): not a new cartridge
    assert lowest(store) == [(1, 1, "new", 8.0)]
    # Another front end that saw less writes a higher lowest: it stays at 8.
    with store.transaction() as con:
        key = ("site-a", 1, 1, 2)
        store.update(con, "supply_orders", ["site_id", "n", "supply_index", "opened_seq"],
                     ["site_id", "n", "supply_index", "opened_seq", "lowest"], [(*key, 20.0)],
                     supplies._LOWER)  # fmt: skip
    assert lowest(store) == [(1, 1, "new", 8.0)]
    level(38, 5)  # 30 points over it: installed, at that level's time
    assert lowest(store) == [(1, 1, "installed", 8.0)]
    [(note,)] = store.con.execute(
        "SELECT note FROM supply_order_events WHERE state = 'installed' AND by_user = 'auto'"
    ).fetchall()
    assert str(note).startswith("level 8% -> 38% at ")
    store.close()


def test_an_order_that_kept_no_lowest_reads_its_levels_once(collector_store: str | Path) -> None:
    """An order opened before migration 12 keeps no lowest: the next refresh reads its levels
    since it opened (the lowest before, not checked again for a jump), then keeps it."""
    store = CollectorStore(collector_store)
    site = fed(store, "site-a")
    for percent, hours_after in ((10, 1), (7, 2)):
        at = NOW - dt.timedelta(days=2) + dt.timedelta(hours=hours_after)
        site.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[percent, 50]]}, at)
    supplies.refresh(store)
    assert lowest(store) == [(1, 1, "new", 7.0)]
    with store.transaction() as con:
        con.execute("UPDATE supply_orders SET lowest = NULL")
    site.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[36, 50]]}, NOW - dt.timedelta(days=1))
    assert supplies.refresh(store)["installed"] == 0  # 29 points over 7 %
    assert lowest(store) == [(1, 1, "new", 7.0)]
    site.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[37, 50]]}, NOW)
    assert supplies.refresh(store)["installed"] == 1
    store.close()


def test_the_older_levels_looked_up_are_the_sites_own(collector_store: str | Path) -> None:
    """The refresh looks up the levels received before its mark of every order opened since, or
    keeping no lowest, by device number and supply: another site's levels of the same numbers
    (seq below the mark, after the order opened, one a jump) neither install an order nor lower
    its lowest level."""
    store = CollectorStore(collector_store)
    a = fed(store, "site-a")  # the black toner's order, opened at 12 % two days ago
    other = FedSite(store, "site-b")
    device = {"n": 1, "serial": "site-b-S1", "vendor": "HP", "model": "M404", "supplies": LAYOUT}
    other.send("register", {"devices": [device]}, NOW - dt.timedelta(days=5))
    other.send("aggregate", {"polls": 1, "m": {}, "n": [1], "s": [[2, 95]]}, NOW - dt.timedelta(days=1))
    assert supplies.refresh(store, "site-a")["opened"] == 1  # site-a's mark: 2, as site-b's levels
    a.send("reorder", {"t": [[1, 2, 9.0, "low", None]]}, NOW - dt.timedelta(days=3))
    assert supplies.refresh(store, "site-a") == {"opened": 1, "duplicates": 0, "installed": 0, "sites": 1}
    assert lowest(store) == [(1, 1, "new", None), (1, 2, "new", None)]
    # Site-b's own orders do see them.
    other.send("reorder", {"t": [[1, 1, 3.0, "low", None]]}, NOW - dt.timedelta(days=2))
    supplies.refresh(store, "site-b")
    [(kept,)] = store.con.execute("SELECT lowest FROM supply_orders WHERE site_id = 'site-b'").fetchall()
    assert kept == 2.0
    store.close()


def test_a_queue_longer_than_a_lookup_is_looked_up_whole(collector_store: str | Path) -> None:
    """A site's open orders are looked up a chunk at a time (``_LOOKUP_CHUNK``): 600 orders
    keeping no lowest (opened before migration 12) all find their levels before the mark, in
    every chunk, and the next jump installs each of them."""
    store = CollectorStore(collector_store)
    site = FedSite(store, "site-a")
    devices: list[dict[str, object]] = [
        {"n": n, "serial": f"S{n}", "vendor": "HP", "model": "M404", "supplies": []} for n in (1, 2, 3)
    ]
    site.send("register", {"devices": devices}, NOW - dt.timedelta(days=5))
    triggers = [[n, i, None, "low", None] for n in (1, 2, 3) for i in range(1, 201)]
    site.send("reorder", {"t": triggers}, NOW - dt.timedelta(days=4))
    assert len(triggers) > supplies._LOOKUP_CHUNK

    def levels(percent: int, days_before: int) -> None:
        data = {"polls": 1, "m": {}, "n": [1, 2, 3], "s": [[percent] * 200] * 3}
        site.send("aggregate", data, NOW - dt.timedelta(days=days_before))

    levels(5, 3)
    assert supplies.refresh(store)["opened"] == 600
    with store.transaction() as con:
        con.execute("UPDATE supply_orders SET lowest = NULL")
    levels(34, 2)  # 29 points over 5 %: installed if the 5 % of any chunk were missed
    assert supplies.refresh(store)["installed"] == 0
    kept = store.con.execute("SELECT lowest, count(*) FROM supply_orders GROUP BY lowest").fetchall()
    assert [tuple(r) for r in kept] == [(5.0, 600)]
    levels(36, 1)
    assert supplies.refresh(store)["installed"] == 600
    store.close()


def test_the_lookup_of_older_levels_is_planned_on_the_supply_index(postgres_url: str) -> None:
    """PostgreSQL plans the lookup of older levels on the index of the supply's whole key even for
    a site its statistics have never seen (its levels all sent since the last ``ANALYZE``): the
    plan that read every level of the site for each order, on the smaller index of (site, seq),
    is the one it took when the site was a constant (bench/collector_ingest.py)."""
    store = CollectorStore(postgres_url)
    at = dt.datetime(2026, 11, 2, 8)
    columns = ["site_id", "n", "supply_index", "time", "percent", "seq"]
    rows = [
        (site, n, i, at + dt.timedelta(hours=h), 50, h + 1)
        for site in ("site-a", "site-b")
        for n in range(1, 201)
        for i in range(1, 5)
        for h in range(4)
    ]
    with store.transaction() as con:
        store.bulk(con, "supply_levels", columns, [r for r in rows if r[0] == "site-a"])
    store.con.execute("ANALYZE supply_levels")
    with store.transaction() as con:
        store.bulk(con, "supply_levels", columns, [r for r in rows if r[0] == "site-b"])
    orders = [("site-b", n, 1, 7, at + dt.timedelta(hours=2)) for n in range(1, 101)]
    sql = supplies._LOOKUP.format(values=", ".join(["(?, ?, ?, ?, CAST(? AS TIMESTAMP))"] * len(orders)))
    [(plan,)] = store.con.execute("EXPLAIN (FORMAT JSON) " + sql, [v for o in orders for v in o]).fetchall()
    assert "site_id_n_supply_index_time_idx" in str(plan), plan
    assert "site_id_seq_idx" not in str(plan), plan
    found = store.con.execute(sql, [v for o in orders for v in o]).fetchall()
    assert len(found) == 100 and {r[0] for r in found} == set(range(1, 101))  # the 4th hour's, each
    store.close()

"""Hostile named counters in well-signed billing reads, against the real collector (HTTPS): too
many counters, names too long or empty, values that are not counts, OIDs that are not OIDs.
Each is refused with a 400 that says why, nothing of it is stored, and nothing stored before is
lost: the stream goes on with the next good message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.enrol import enrol
from printwatch.uplink.messages import MAX_COUNTER_NAME, MAX_COUNTERS
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity, seal
from printwatch.uplink.transport import post

from tests.support.collector import start_collector
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"
OID = "1.3.6.1.4.1.2385.1.1.19.2.1.3.1.4.60"


def now() -> dt.datetime:
    return T0.replace(tzinfo=None)


def billing(seq: int, cycle: str, counters: Any) -> dict[str, Any]:
    return {
        "site": "site-a",
        "seq": seq,
        "kind": "billing",
        "at": int(T0.timestamp()),
        "data": {"cycle": cycle, "r": [[1, {"total": 100}, counters]]},
    }


HOSTILE = [
    ([["c", OID, k] for k in range(MAX_COUNTERS + 1)], f"at most {MAX_COUNTERS}"),
    ([["x" * (MAX_COUNTER_NAME + 1), OID, 1]], f"1 to {MAX_COUNTER_NAME} characters"),
    ([["", OID, 1]], f"1 to {MAX_COUNTER_NAME} characters"),
    ([["Prints", OID, "82214"]], "is not an integer"),
    ([["Prints", OID, 1.5]], "is not an integer"),
    ([["Prints", OID, True]], "is not an integer"),
    ([["Prints", OID, -1]], "is outside 0.."),
    ([["Prints", OID, 2**64]], "is outside 0.."),
    ([["Prints", "1.3.6.1'; DROP TABLE counter_reads;--", 1]], "is not numeric"),
    ([["Prints", OID]], "must be [name, OID, value]"),
    ({"Prints": 1}, "must be a list"),
]


@pytest.fixture
async def world(tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery) -> Any:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    await enrol(box, collector.endpoint(), token, now=T0)
    register = {"devices": [{"n": 1, "serial": "S1", "vendor": "sharp", "supplies": []}]}
    message = {"site": "site-a", "seq": 1, "kind": "register", "at": 1, "data": register}
    assert (await send(collector, box, message)).status == 200
    good = billing(2, "2026-11-01", [["Prints", OID, 82214]])
    assert (await send(collector, box, good)).status == 200
    return store, collector, box


async def send(collector: Any, box: Outbox, message: dict[str, Any]) -> Any:
    return await post(
        collector.endpoint(), "/v1/upload", seal(box.identity, encode_payload(message)), ENVELOPE
    )


def kept(store: CollectorStore) -> list[tuple[Any, ...]]:
    rows = store.con.execute("SELECT name, oid, value, cycle, seq FROM counter_reads ORDER BY seq").fetchall()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(("counters", "reason"), HOSTILE, ids=[r for _, r in HOSTILE])
async def test_hostile_counters_are_refused_with_the_reason_and_lose_nothing(
    world: Any, counters: Any, reason: str
) -> None:
    store, collector, box = world
    before = kept(store)
    assert before == [("Prints", OID, 82214, "2026-11-01", 2)]
    r = await send(collector, box, billing(3, "2026-12-01", counters))
    assert r.status == 400, r.body
    assert reason in json.loads(r.body)["error"], r.body
    # Nothing of the refused message, nothing lost of what was kept before.
    assert kept(store) == before
    assert store.con.execute("SELECT count(*) FROM meter_reads WHERE cycle = '2026-12-01'").fetchall() == [
        (0,)
    ]
    assert store.con.execute("SELECT max(seq) FROM messages").fetchall() == [(2,)]
    # The stream goes on: the same sequence number with good counters is taken.
    ok = billing(3, "2026-12-01", [["Prints", OID, 82300], ["Copies", f"{OID[:-7]}4.4.60", 10]])
    assert (await send(collector, box, ok)).status == 200
    assert len(kept(store)) == 3


async def test_the_most_counters_and_the_longest_names_allowed_are_kept(world: Any) -> None:
    store, collector, box = world
    counters = [[f"{'n' * (MAX_COUNTER_NAME - 4)}{k:04d}", f"{OID}.{k}", k] for k in range(MAX_COUNTERS)]
    assert (await send(collector, box, billing(3, "2026-12-01", counters))).status == 200
    rows = store.con.execute(
        "SELECT name, oid, value FROM counter_reads WHERE seq = 3 ORDER BY value"
    ).fetchall()
    assert [list(r) for r in rows] == counters

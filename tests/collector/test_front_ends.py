"""Several collector front ends on one PostgreSQL database (docs/collector.md).

Two in this process, each with its own connection and database thread, receive one site's
messages at the same moment over real HTTPS: no sequence number is accepted twice, none past a
gap. With PostgreSQL stopped, a front end answers 503 at once and takes the same messages once
it is back. (Three ``collector serve`` processes and 50 appliances, one front end killed:
test_fifty_sites.py; PostgreSQL stopped under appliances: test_postgres_outage.py.)"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import post

from tests.support.collector import RunningCollector, start_collector
from tests.support.postgres import PostgresServer
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"
AGGREGATES = 40
DELTA = 10


def collector_now() -> dt.datetime:
    return (T0 + dt.timedelta(hours=1)).replace(tzinfo=None)


def envelopes(box: Outbox) -> list[bytes]:
    """A registration of one printer, then :data:`AGGREGATES` aggregates of ``DELTA`` pages each."""
    entry, _ = box.number("serial:SER00001", {"serial": "SER00001", "supplies": []})
    box.enqueue("register", {"devices": [{"n": entry.n, **entry.info}]}, T0, devices=[entry])
    for day in range(AGGREGATES):
        data = {"day": f"2026-11-{day % 28 + 1:02d}", "polls": 1, "n": [entry.n], "m": {"total": [DELTA]}}
        box.enqueue("aggregate", data, T0)
    out = []
    while (head := box.head()) is not None:
        out.append(head.envelope)
        box.acknowledge(head.seq)
    return out


async def send(front: RunningCollector, body: bytes, answers: list[tuple[int, int | None]]) -> None:
    r = await post(front.endpoint(), "/v1/upload", body, ENVELOPE)
    answers.append((r.status, json.loads(r.body).get("ack")))


@pytest.mark.realtime
async def test_two_front_ends_never_accept_a_sequence_number_twice_nor_past_a_gap(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str
) -> None:
    certs = make_certs(tmp_path)
    stores = [CollectorStore(postgres_url), CollectorStore(postgres_url)]
    token = add_site(stores[0], "site-a", now=T0.replace(tzinfo=None))
    fronts = [await start_collector(nursery, s, certs, now=collector_now) for s in stores]
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    await enrol(box, fronts[1].endpoint(), token, now=T0)
    bodies = envelopes(box)
    answers: list[tuple[int, int | None]] = []
    for k, body in enumerate(bodies):
        # The same message at both front ends at once, and the next one (a gap unless this one
        # is in already) at one of them.
        async with trio.open_nursery() as round_:
            round_.start_soon(send, fronts[0], body, answers)
            round_.start_soon(send, fronts[1], body, answers)
            if k + 1 < len(bodies):
                round_.start_soon(send, fronts[k % 2], bodies[k + 1], answers)
    assert {status for status, _ in answers} <= {200, 409}, Counter(s for s, _ in answers)
    acks = Counter(ack for status, ack in answers if status == 200)
    assert acks == Counter(range(1, len(bodies) + 1))  # each number accepted once, none missing
    con = stores[0].con
    assert [r[0] for r in con.execute("SELECT seq FROM messages ORDER BY seq").fetchall()] == list(
        range(1, len(bodies) + 1)
    )
    assert con.execute("SELECT value FROM meter_latest").fetchall() == [(AGGREGATES * DELTA,)]
    reads = [r[0] for r in con.execute("SELECT value FROM meter_reads ORDER BY seq").fetchall()]
    assert reads == [DELTA * k for k in range(1, AGGREGATES + 1)]
    for front in fronts:
        await front.stop()
    for store in stores:
        store.close()


@pytest.mark.realtime
async def test_postgres_down_is_a_quick_503_and_nothing_is_lost_when_it_returns(
    tmp_path: Path, nursery: trio.Nursery, own_postgres: PostgresServer
) -> None:
    server = own_postgres
    with server.admin() as admin:
        admin.execute("CREATE DATABASE down")
    certs = make_certs(tmp_path)
    store = CollectorStore(server.url("down"))
    token = add_site(store, "site-a", now=T0.replace(tzinfo=None))
    front = await start_collector(nursery, store, certs, now=collector_now)
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    await enrol(box, front.endpoint(), token, now=T0)
    bodies = envelopes(box)[:3]
    assert (await post(front.endpoint(), "/v1/upload", bodies[0], ENVELOPE)).status == 200
    await trio.to_thread.run_sync(server.stop)  # PostgreSQL goes away
    for body in bodies[1:]:
        started = trio.current_time()
        r = await post(front.endpoint(), "/v1/upload", body, ENVELOPE)
        assert r.status == 503 and b"\r\nretry-after: 5\r\n" in r.response_bytes.lower(), r.response_bytes
        assert trio.current_time() - started < 5.0  # quickly, not after a timeout
    again = json.dumps(
        {"site_id": "site-a", "token": "x", "public_key": base64.b64encode(bytes(32)).decode()}
    ).encode()
    r = await post(front.endpoint(), "/v1/enrol", again, "application/json")
    assert r.status == 503, r.body  # every route: the server's handler of StoreUnavailable
    await trio.to_thread.run_sync(server.start)  # and comes back: same data, same port
    for k, body in enumerate(bodies[1:], start=2):
        r = await post(front.endpoint(), "/v1/upload", body, ENVELOPE)
        assert (r.status, json.loads(r.body)["ack"]) == (200, k)
    got = store.con.execute("SELECT seq, kind FROM messages ORDER BY seq").fetchall()
    assert got == [(1, "register"), (2, "aggregate"), (3, "aggregate")]
    await front.stop()
    store.close()

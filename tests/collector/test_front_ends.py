"""Two collector front ends on one PostgreSQL database, each with its own connection and database
thread, receiving one site's messages at the same moment over real HTTPS: no sequence number is
accepted twice, none past a gap, and the meter deltas add up exactly (docs/collector.md)."""

from __future__ import annotations

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

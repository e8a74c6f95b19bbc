"""The outbox, the device numbers, aggregates and their thinning, the backoff and the
hash-chained transmission log, on a real DuckDB store (no network here)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from printwatch.store import Store
from printwatch.uplink import log as txlog
from printwatch.uplink.codec import decode_payload, encode_payload
from printwatch.uplink.messages import THIN_LEVELS, DeviceDay, aggregate_data, reorder_reason
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.signing import HEADER_BYTES, Identity, open_envelope

from tests.support.fakes import contract_doc

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def payload(identity: Identity, envelope: bytes) -> dict[str, object]:
    return decode_payload(open_envelope(envelope, {identity.key_id: identity.public_raw}.get)[1])


def test_sequence_numbers_survive_a_reopen_and_messages_leave_only_when_acknowledged(tmp_path: Path) -> None:
    me = Identity.generate()
    path = tmp_path / "history.duckdb"
    box = Outbox(path, me, "site-a")
    assert [box.enqueue("sync", {"sv": 0}, T0) for _ in range(3)] == [1, 2, 3]
    box.close()
    box = Outbox(path, me, "site-a")
    assert box.enqueue("sync", {"sv": 0}, T0) == 4
    head = box.head()
    assert head is not None and head.seq == 1 and head.attempts == 0
    msg = payload(me, head.envelope)
    assert msg == {"site": "site-a", "seq": 1, "kind": "sync", "at": int(T0.timestamp()), "data": {"sv": 0}}
    box.attempting(head, T0)
    box.failed(1, "refused", T0 + dt.timedelta(seconds=30))
    head = box.head()
    assert head is not None and head.seq == 1 and head.attempts == 1 and head.first_sent_at is not None
    assert box.spent(T0.date()) == 4 * len(head.envelope)  # charged when made, not per attempt
    box.attempting(head, T0)
    assert box.spent(T0.date()) == 4 * len(head.envelope)
    assert box.acknowledge(2) == 2
    assert box.pending()[0] == 2
    assert box.acknowledge(4) == 2 and box.head() is None
    box.close()


def test_the_outbox_lives_beside_the_history_in_one_store(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    with Store(path) as store:
        store.ingest([contract_doc(("10.0.0.1", 161), 1, T0)])
        beside = Outbox(path, Identity.generate(), "s")  # as in the appliance: the writer has it open
        beside.enqueue("sync", {}, T0)
        store.ingest([contract_doc(("10.0.0.1", 161), 2, T0)])
        assert beside.pending()[0] == 1
        beside.close()
    box = Outbox(path, Identity.generate(), "s")
    box.enqueue("sync", {}, T0)
    assert box.con.execute("SELECT count(*) FROM devices").fetchone() == (1,)
    box.close()
    with Store(path) as store:  # and the store still opens (the uplink's migration is in its list)
        assert store.reader().execute("SELECT count(*) FROM uplink_outbox").fetchone() == (2,)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    b = Backoff(base_s=10, cap_s=300)
    rng = random.Random(7)
    for attempts, full in [(1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (30, 300)]:
        delays = [b.delay_s(attempts, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 4  # jittered, not one value


def day_of(docs: int, n: int) -> dict[int, DeviceDay]:
    devices: dict[int, DeviceDay] = {}
    for i in range(1, docs + 1):
        d = DeviceDay()
        for k in range(n):
            d.observe(contract_doc((f"10.0.{i // 250}.{i % 250 + 1}", 161), k, T0))
        devices[i] = d
    return devices


def test_aggregates_send_meter_deltas_and_thin_level_by_level() -> None:
    devices = day_of(40, 3)
    data, bases = aggregate_data(T0.date(), 3, devices, {}, 0)
    assert data is not None and data["n"] == sorted(devices)
    first = data["m"]["total"]
    answering = [n for n in devices if devices[n].meters]
    assert all(
        first[i] == devices[n].meters.get("total") for i, n in enumerate(data["n"]) if devices[n].meters
    )
    # the next part of the day: only the pages since
    later = {
        n: DeviceDay(meters={k: v + 25 for k, v in d.meters.items()}) for n, d in devices.items() if d.meters
    }
    data2, _ = aggregate_data(T0.date(), 3, later, bases, 0)
    assert data2 is not None and set(data2["m"]["total"]) == {25}
    sizes = []
    for level in range(len(THIN_LEVELS)):
        d, _ = aggregate_data(T0.date(), 3, devices, {}, level)
        sizes.append(len(encode_payload({"data": d})) if d is not None else 0)
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 0 and sizes[0] > sizes[2]
    sent = {n: (devices[n] if n in answering[:10] else later[n]).meters for n in answering}
    d3, _ = aggregate_data(T0.date(), 3, later, sent, 3)
    assert d3 is not None and d3["n"] == answering[:10]  # only the devices whose meters moved


def test_reorder_reasons() -> None:
    kw = {"reorder_percent": 20.0, "lead_time_days": 7.0}
    assert reorder_reason(25, 19, days_to_empty=None, **kw) == "reorder_point"
    assert reorder_reason(None, 10, days_to_empty=None, **kw) == "reorder_point"
    assert reorder_reason(19, 18, days_to_empty=None, **kw) is None  # already below: fired before
    assert reorder_reason(60, 55, days_to_empty=5.0, **kw) == "lead_time"
    assert reorder_reason(60, 55, days_to_empty=30.0, **kw) is None


def test_the_transmission_log_chain_shows_an_edit_and_a_gap(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "h.duckdb", Identity.generate(), "s")
    for i in range(5):
        txlog.append(
            box.con,
            time=T0 + dt.timedelta(minutes=i),
            seq=i + 1,
            kind="sync",
            url="https://c",
            status=200,
            error=None,
            request=b"POST /v1/upload " + bytes([i]),
            response=b'{"ack":%d}' % (i + 1),
        )
    assert txlog.verify(box.con) == []
    box.con.execute("UPDATE uplink_log SET request = 'POST /v1/upload edited'::BLOB WHERE n = 3")
    assert txlog.verify(box.con) == ["row 3: its content does not match its hash (edited)"]
    box.con.execute("DELETE FROM uplink_log WHERE n = 3")
    problems = txlog.verify(box.con)
    assert problems == ["row 4: rows 3..3 are missing (a gap)", "row 4: does not chain to the row before it"]
    box.close()


def test_envelope_overhead_is_the_header_only() -> None:
    me = Identity.generate()
    body = encode_payload({"kind": "sync"})
    from printwatch.uplink.signing import seal

    assert len(seal(me, body)) == HEADER_BYTES + len(body) == 75 + len(body)


@pytest.mark.parametrize("level", range(len(THIN_LEVELS) - 1))
def test_every_thinning_level_still_decodes_on_the_collector_side(level: int) -> None:
    data, _ = aggregate_data(T0.date(), 2, day_of(5, 2), {}, level)
    assert data is not None and decode_payload(encode_payload({"data": data}))["data"] == data

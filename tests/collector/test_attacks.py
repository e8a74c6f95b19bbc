"""Attacks on the collector and on its stream, each against the real server (HTTPS, trustme
certificates) and the real uplink: the read API without a credential, a replaced appliance, a
collector restored from a backup, a 409 that would empty the outbox, an unknown key sending a
big or slow body, a tenant filling the disk, absurd well-signed data, enrolment guessing, and
more uploads at once than the collector reads."""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.server import create_app
from printwatch.collector.store import CollectorStore
from printwatch.collector.sync import due_reads
from printwatch.collector.tokens import create_token, revoke_token
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity, seal
from printwatch.uplink.transport import post

from tests.support.collector import RunningCollector, drained, start_collector
from tests.support.fakes import contract_doc
from tests.support.postgres import backup_store, restore_store
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"


def now() -> dt.datetime:
    return T0.replace(tzinfo=None)


def fleet(first: int, count: int) -> list[tuple[str, int]]:
    return [(f"10.8.0.{i}", 161) for i in range(first, first + count)]


def appliance(path: Path, collector: RunningCollector, token: str, clock: list[dt.datetime]) -> UplinkService:
    """An appliance whose clock is ``clock[0]`` (the test moves it) plus the time elapsed."""
    box = Outbox(path, Identity.generate(), "site-a")
    start = time.monotonic()
    return UplinkService(
        box,
        collector.endpoint(),
        now=lambda: clock[0] + dt.timedelta(seconds=time.monotonic() - start),
        token=token,
        backoff=Backoff(0.01, 0.05),
        idle_s=0.02,
    )


async def feed(
    svc: UplinkService, devices: list[tuple[str, int]], parts: range, clock: list[dt.datetime]
) -> None:
    """Parts of days (6 h each) of ``devices``: an aggregate each, a billing read on the first."""
    for n in parts:
        clock[0] = T0 + dt.timedelta(hours=6 * n)
        docs = [contract_doc(d, n, clock[0]) for d in devices]
        await svc.observe(docs)
        await svc.upload(clock[0])
        if n == parts[0]:
            await svc.billing_cycle(clock[0].date(), docs)


def latest_totals(store: CollectorStore) -> dict[str, int]:
    """The collector's rebuilt ``total`` meter of every device of the site's current appliance."""
    rows = store.con.execute(
        "SELECT d.serial, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
        "JOIN device_keys k ON k.site_id = d.site_id AND k.n = d.n "
        "JOIN sites s ON s.site_id = k.site_id AND s.key_id = k.key_id WHERE m.meter = 'total'"
    ).fetchall()
    return {str(serial): int(value) for serial, value in rows}


def seqs(store: CollectorStore) -> list[int]:
    return [int(r[0]) for r in store.con.execute("SELECT seq FROM messages ORDER BY seq").fetchall()]


async def raw_https(
    collector: RunningCollector, certs: Certs, head: bytes, body: bytes, *, wait_s: float = 10.0
) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers) and ``body`` as far as they go, then read the
    answer: ``(status, whole response)`` (headers lowercased); the body may be a part of what the
    headers declare."""
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    tcp = await trio.open_tcp_stream("127.0.0.1", collector.port)
    stream = trio.SSLStream(tcp, context, server_hostname="127.0.0.1")
    response = b""
    with trio.fail_after(wait_s):
        await stream.send_all(head + body)
        while True:
            head_end = response.find(b"\r\n\r\n")
            if head_end >= 0:
                headers = response[:head_end].lower()
                length = (
                    int(headers.split(b"content-length:")[1].split(b"\r\n")[0])
                    if b"content-length:" in headers
                    else 0
                )
                if len(response) >= head_end + 4 + length:
                    break
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            response += chunk
    await trio.aclose_forcefully(stream)
    head_end = response.find(b"\r\n\r\n")
    return int(response.split(b" ", 2)[1]), response[:head_end].lower() + response[head_end:]


def upload_head(length: int) -> bytes:
    return (
        f"POST /v1/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ENVELOPE}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


async def test_the_read_api_needs_a_token_with_the_read_scope(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    add_site(store, "site-a", now=now(), contact="secret-contact@example.com")
    collector = await start_collector(nursery, store, certs, now=now)
    endpoint = collector.endpoint()

    async def get(view: str, token: str | None) -> tuple[int, bytes]:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = f"GET /api/{view} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode()
        status, response = await raw_https(collector, certs, head, b"")
        return status, response

    for view in ("sites", "devices", "reads", "reorders", "missing"):
        for token in (None, "pwc_guess", "not-even-the-form"):
            status, response = await get(view, token)
            assert (
                status == 401
                and b"secret-contact" not in response
                and b"www-authenticate: bearer" in response
            )
    secret = create_token(store, "billing desk", "viewer", now=now())
    assert secret.encode() not in b"".join(
        bytes(r[0]) for r in store.con.execute("SELECT token_hash FROM api_tokens").fetchall()
    )
    status, response = await get("sites", secret)
    assert status == 200 and b"secret-contact@example.com" in response
    revoke_token(store, store.con.execute("SELECT token_id FROM api_tokens").fetchall()[0][0], now=now())
    assert (await get("sites", secret))[0] == 401
    # An upload-only listener has no API at all (collector serve --api-port moves it away).
    await collector.stop()
    uploads_only = await start_collector(
        nursery, store, certs, now=now, app=create_app(store, now=now, api=False)
    )
    assert (await post(uploads_only.endpoint(), "/api/sites", b"", "text/plain")).status == 404
    await uploads_only.stop()
    assert endpoint.url


async def test_a_replaced_appliance_starts_a_new_stream_and_never_lands_on_the_old_devices(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    clock = [T0]
    old = appliance(tmp_path / "old.duckdb", collector, token, clock)
    async with trio.open_nursery() as running:
        await running.start(old.serve)
        await feed(old, fleet(1, 4), range(1, 6), clock)
        await drained([old])
        running.cancel_scope.cancel()
    before = latest_totals(store)
    assert before == {f"SER{i:05d}": 1050 for i in range(1, 5)}
    old_last = seqs(store)[-1]
    # The old box dies; its replacement enrols with a new token and reads other printers (its
    # device numbers 1.. are the old box's numbers too).
    replacement = appliance(tmp_path / "new.duckdb", collector, new_token(store, "site-a", now=now()), clock)
    await feed(replacement, fleet(11, 3), range(1, 4), clock)
    async with trio.open_nursery() as running:
        await running.start(replacement.serve)
        await drained([replacement])
        running.cancel_scope.cancel()
    assert replacement.sender.stats.duplicates == 0  # nothing of it taken for a duplicate
    assert seqs(store) == list(range(1, seqs(store)[-1] + 1)) and seqs(store)[-1] > old_last
    kinds = [
        r[0] for r in store.con.execute("SELECT kind FROM messages WHERE seq > ?", [old_last]).fetchall()
    ]
    assert kinds.count("aggregate") == 3 and kinds.count("billing") == 1 and kinds[0] == "register"
    # Its printers are new devices with their own meters; the old ones keep theirs.
    serials = dict(store.con.execute("SELECT n, serial FROM devices").fetchall())
    assert sorted(serials.values()) == [f"SER{i:05d}" for i in (1, 2, 3, 4, 11, 12, 13)]
    assert latest_totals(store) == {f"SER{i:05d}": 1030 for i in (11, 12, 13)}
    old_values = dict(
        store.con.execute(
            "SELECT d.serial, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
            "WHERE m.meter = 'total' AND d.serial IN ('SER00001', 'SER00002', 'SER00003', 'SER00004')"
        ).fetchall()
    )
    assert old_values == before
    # Billing asks the current appliance for its own devices only, by its own numbers.
    _, due = due_reads(store.con, "site-a", now() + dt.timedelta(days=40))
    assert sorted(serials[n] for n in due) == ["SER00011", "SER00012", "SER00013"]
    key = replacement.outbox.identity.key_id.hex()
    _, wire = due_reads(store.con, "site-a", now() + dt.timedelta(days=40), key=key)
    assert sorted(wire) == sorted(e.n for e in replacement.outbox.devices.values()) == [1, 2, 3]


async def test_a_new_key_on_the_same_box_registers_its_devices_again(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    clock = [T0]
    first = appliance(tmp_path / "a.duckdb", collector, token, clock)
    async with trio.open_nursery() as running:
        await running.start(first.serve)
        await feed(first, fleet(1, 3), range(1, 4), clock)
        await drained([first])
        running.cancel_scope.cancel()
    first.outbox.close()
    # The key file is lost and made again: the same outbox (in step with the collector), a new key.
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    again = UplinkService(
        box, collector.endpoint(), now=lambda: clock[0], token=new_token(store, "site-a", now=now()),
        backoff=Backoff(0.01, 0.05), idle_s=0.02,
    )  # fmt: skip
    async with trio.open_nursery() as running:
        await running.start(again.serve)
        await feed(again, fleet(1, 3), range(4, 7), clock)
        await drained([again])
        running.cancel_scope.cancel()
    assert latest_totals(store) == {f"SER{i:05d}": 1060 for i in (1, 2, 3)}


async def test_a_key_enrolled_for_one_site_cannot_be_enrolled_for_another(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    victim_token, attacker_token = add_site(store, "site-a", now=now()), add_site(store, "site-b", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    victim = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    await enrol(victim, collector.endpoint(), victim_token, now=T0)
    # site-b's holder enrols site-a's public key (it is in site-a's transmission log).
    copy = Outbox(tmp_path / "b.duckdb", victim.identity, "site-b")
    with pytest.raises(EnrolError, match="403"):
        await enrol(copy, collector.endpoint(), attacker_token, now=T0)
    assert store.con.execute("SELECT site_id FROM sites WHERE key_id IS NOT NULL").fetchall() == [("site-a",)]
    message = seal(
        victim.identity, encode_payload({"site": "site-a", "seq": 1, "kind": "sync", "at": 1, "data": {}})
    )
    assert (await post(collector.endpoint(), "/v1/upload", message, ENVELOPE)).status == 200


async def test_a_hostile_collector_can_neither_wedge_nor_crash_the_appliance(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    real = create_app(store, now=now)
    answers = [
        (409, {"error": "x", "expected": True}),  # a bool is not a number
        (409, {"error": "x", "expected": 10**30}),
        (200, {"ack": 0, "sync": {"billing": ["not", "an", "object"], "services": 3}}),
    ]

    async def hostile(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/upload" and answers:
            status, body = answers.pop(0)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
            return
        await real(scope, receive, send)

    collector = await start_collector(nursery, store, certs, now=now, app=hostile)
    clock = [T0]
    svc = appliance(tmp_path / "a.duckdb", collector, token, clock)
    await feed(svc, fleet(1, 3), range(1, 4), clock)
    await nursery.start(svc.serve)
    await drained([svc])
    assert not answers and svc.sender.stats.restarts == 0  # none of them was taken for a number
    assert latest_totals(store) == {f"SER{i:05d}": 1030 for i in (1, 2, 3)}
    # An enrolment answer it cannot use is an EnrolError (logged, tried again), not a crash.
    for odd_body in (b"not json", b'{"key_id": "ab", "next_seq": 1000000000000000000000000000000}'):

        async def enrol_answer(scope: Any, receive: Any, send: Any, body: bytes = odd_body) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

        odd = await start_collector(nursery, store, certs, now=now, app=enrol_answer)
        with pytest.raises(EnrolError, match=r"not understood|to go on from"):
            await enrol(
                Outbox(tmp_path / "c.duckdb", Identity.generate(), "site-a"), odd.endpoint(), "t", now=T0
            )
        await odd.stop()


async def test_a_collector_restored_from_a_backup_resyncs_and_rebuilds_every_meter(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    path = collector_store
    store = CollectorStore(path)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    port = collector.port
    clock = [T0]
    svc = appliance(tmp_path / "a.duckdb", collector, token, clock)
    await nursery.start(svc.serve)
    devices = fleet(1, 5)
    await feed(svc, devices[:3], range(1, 4), clock)
    await drained([svc])
    await collector.stop()
    store.con.execute("CHECKPOINT")
    store.close()
    backup_store(path, tmp_path / "backup")  # the night's backup
    store = CollectorStore(path)
    collector = await start_collector(nursery, store, certs, now=now, port=port)
    await feed(svc, devices, range(4, 9), clock)  # two more printers appear after the backup
    await drained([svc])
    lost_from = seqs(store)[-1]
    await collector.stop()
    store.close()
    restore_store(path, tmp_path / "backup")  # the disk died; the backup is restored
    store = CollectorStore(path)
    assert seqs(store)[-1] < lost_from
    collector = await start_collector(nursery, store, certs, now=now, port=port)
    await feed(svc, devices, range(9, 12), clock)
    await drained([svc])  # not wedged
    assert svc.sender.stats.restarts >= 1
    assert seqs(store) == list(range(1, seqs(store)[-1] + 1))
    # Every meter rebuilt exactly, the two printers registered after the backup included.
    assert latest_totals(store) == {f"SER{i:05d}": 1000 + 10 * 11 for i in range(1, 6)}
    # The billing reads of the two new printers were lost with the disk: the collector asks for
    # them (its sync) and they come again (the appliance forgot what was acknowledged before).
    with trio.fail_after(10):
        while len(billed(store)) < 5:
            svc.wake()
            await trio.sleep(0.02)
    assert billed(store) == {f"SER{i:05d}" for i in range(1, 6)}


def billed(store: CollectorStore) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT d.serial FROM meter_reads r JOIN devices d USING (site_id, n) "
        "WHERE r.source = 'billing' AND r.cycle = '2026-11-01'"
    ).fetchall()
    return {str(r[0]) for r in rows}


async def test_a_409_that_claims_everything_empties_nothing(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    real = create_app(store, now=now)
    lies = {"left": 3}

    async def lying(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/upload" and lies["left"] > 0:
            lies["left"] -= 1
            body = json.dumps({"error": "duplicate", "expected": 10**12}).encode()
            await send({"type": "http.response.start", "status": 409,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await real(scope, receive, send)

    collector = await start_collector(nursery, store, certs, now=now, app=lying)
    clock = [T0]
    svc = appliance(tmp_path / "a.duckdb", collector, token, clock)
    await feed(svc, fleet(1, 3), range(1, 5), clock)
    made = (await svc.outbox_counts())[0]
    await nursery.start(svc.serve)
    await drained([svc])
    assert lies["left"] == 0 and svc.sender.stats.duplicates == 0
    rows = store.con.execute("SELECT kind, payload FROM messages ORDER BY seq").fetchall()
    kinds = [r[0] for r in rows]
    assert kinds.count("aggregate") == 4 and kinds.count("billing") == 1
    # The report of the settings the first sync answer set goes out once (issue 22).
    reports = [k for k, p in rows if k == "sync" and "applied" in json.loads(p)["data"]]
    assert len(reports) == 1
    assert len(kinds) == made + 1 + 1  # one register of the restarts more, however many were asked
    assert latest_totals(store) == {f"SER{i:05d}": 1040 for i in (1, 2, 3)}


async def test_an_unknown_key_is_refused_on_its_header_and_a_slow_body_times_out(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    app = create_app(store, now=now, body_timeout_s=1.0, max_concurrent_uploads=4)
    collector = await start_collector(nursery, store, certs, now=now, app=app)
    stranger = seal(
        Identity.generate(), encode_payload({"site": "site-a", "seq": 1, "kind": "sync", "at": 1, "data": {}})
    )
    # 3 MiB announced, only the header sent: refused at once, the rest never needed.
    status, response = await raw_https(collector, certs, upload_head(3 << 20), stranger[:75], wait_s=5)
    assert status == 401 and b"unknown key" in response
    # An enrolled key that sends its header and stalls: 408 after the body timeout.
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    await enrol(box, collector.endpoint(), token, now=T0)
    mine = seal(
        box.identity, encode_payload({"site": "site-a", "seq": 1, "kind": "sync", "at": 1, "data": {}})
    )
    start = trio.current_time()
    status, _ = await raw_https(collector, certs, upload_head(len(mine) + 1000), mine, wait_s=10)
    assert status == 408 and trio.current_time() - start < 5
    # More uploads at once than the collector reads: the one beyond gets 503 at once.
    async with trio.open_nursery() as stalls:
        for _ in range(4):
            stalls.start_soon(raw_https, collector, certs, upload_head(len(mine) + 1000), mine)
        await trio.sleep(0.3)
        status, response = await raw_https(collector, certs, upload_head(len(mine)), mine, wait_s=5)
        assert status == 503 and b"retry-after: 5" in response
    assert store.con.execute("SELECT count(*) FROM messages").fetchall() == [(0,)]


async def test_a_site_over_its_daily_quota_is_refused_with_the_reason(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    store.con.execute("UPDATE sites SET settings = '{\"quota_bytes_per_day\": 4000}'")
    collector = await start_collector(nursery, store, certs, now=now)
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    await enrol(box, collector.endpoint(), token, now=T0)
    # Incompressible registrations of about 1.3 KB each: the quota of 4,000 bytes a day ends it.
    filler = {
        "devices": [{"n": i, "serial": f"X{i:08d}", "model": os.urandom(20).hex()} for i in range(1, 30)]
    }
    answers = []
    for seq in range(1, 8):
        envelope = seal(
            box.identity,
            encode_payload({"site": "site-a", "seq": seq, "kind": "register", "at": 1, "data": filler}),
        )
        r = await post(collector.endpoint(), "/v1/upload", envelope, ENVELOPE)
        answers.append(r.status)
        if r.status == 429:
            assert "over its daily upload quota" in json.loads(r.body)["error"]
            break
    assert answers[-1] == 429 and answers[:-1] == [200] * (len(answers) - 1)
    stored = store.con.execute("SELECT coalesce(sum(bytes), 0) FROM messages").fetchall()[0][0]
    assert stored <= 4000


async def test_absurd_but_signed_data_is_a_400_not_a_500(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    await enrol(box, collector.endpoint(), token, now=T0)
    register = {"devices": [{"n": 1, "serial": "S1", "supplies": []}]}
    ok = seal(
        box.identity,
        encode_payload({"site": "site-a", "seq": 1, "kind": "register", "at": 1, "data": register}),
    )
    assert (await post(collector.endpoint(), "/v1/upload", ok, ENVELOPE)).status == 200
    deep = (
        b'{"site":"site-a","seq":2,"kind":"sync","at":1,"data":{"x":'
        + b"[" * 200_000
        + b"]" * 200_000
        + b"}}"
    )
    import zlib

    from printwatch.uplink.codec import DICTIONARY

    packer = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=DICTIONARY)
    bomb = seal(box.identity, packer.compress(deep) + packer.flush())
    huge = {
        "site": "site-a",
        "seq": 2,
        "kind": "billing",
        "at": 1,
        "data": {"cycle": "2026-11-01", "r": [[1, {"total": 2**64}]]},
    }
    bad_n = {
        "site": "site-a",
        "seq": 2,
        "kind": "billing",
        "at": 1,
        "data": {"cycle": "2026-11-01", "r": [[2**70, {"total": 1}]]},
    }
    bad_cycle = {
        "site": "site-a",
        "seq": 2,
        "kind": "billing",
        "at": 1,
        "data": {"cycle": "'; DROP", "r": [[1, {"total": 1}]]},
    }

    def aggregate(**data: Any) -> dict[str, Any]:
        return {
            "site": "site-a",
            "seq": 2,
            "kind": "aggregate",
            "at": 1,
            "data": {"polls": 1, "m": {}, **data},
        }

    work = [
        aggregate(n=[1] * 200_000),  # 200,000 rows from a message of a few KB
        aggregate(n=[2**40]),
        aggregate(n=[1], polls=2**40),
        aggregate(n=[1], up=[2**40], st="r"),
        aggregate(n=[1], m={f"m{i}": [1] for i in range(300)}),
        {"site": "site-a", "seq": 2, "kind": "reorder", "at": 1, "data": {"t": [[1, 1, "abc", "x", None]]}},
        {
            "site": "site-a",
            "seq": 2,
            "kind": "register",
            "at": 1,
            "data": {"devices": [{"n": 2, "supplies": "s"}]},
        },
    ]
    envelopes = [bomb, *(seal(box.identity, encode_payload(m)) for m in (huge, bad_n, bad_cycle, *work))]
    for envelope in envelopes:
        r = await post(collector.endpoint(), "/v1/upload", envelope, ENVELOPE)
        assert r.status == 400, r.body
    assert store.con.execute("SELECT count(*) FROM messages").fetchall() == [(1,)]


async def test_enrolment_refusals_say_the_same_and_guessing_is_throttled(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=now())
    collector = await start_collector(nursery, store, certs, now=now)
    endpoint = collector.endpoint()

    async def try_enrol(site: str, guess: str) -> tuple[int, str]:
        body = json.dumps({"site_id": site, "token": guess, "public_key": "A" * 43 + "="}).encode()
        r = await post(endpoint, "/v1/enrol", body, "application/json")
        return r.status, json.loads(r.body).get("error", "")

    no_site, wrong = await try_enrol("no-such-site", "x"), await try_enrol("site-a", "x")
    assert no_site == wrong and no_site[0] == 403  # one answer: which sites exist is not told
    for _ in range(8):
        await try_enrol("site-a", "guess")
    status, error = await try_enrol("site-a", token)
    assert status == 429 and "too many failed enrolments" in error
    assert store.con.execute("SELECT key_id FROM sites").fetchall() == [(None,)]

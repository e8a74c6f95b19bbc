"""A collector front end that dies in the middle of its answer (tests/support/dying_server.py: a
real HTTPS server process killed by SIGKILL) is a clean, retryable transport failure: a
``TransportError`` naming the URL, never h11's ``RemoteProtocolError`` in an ExceptionGroup, never
a status 0. The sender keeps the message and retries it; with several collector URLs the next
one takes it at once; a 503's ``Retry-After`` is honoured, and bounded."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff, Sender
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint, TransportError, post

from tests.support.collector import RunningCollector, start_collector
from tests.support.dying_server import MODES, start_dying_server
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
#: What each death looks like to the client (the transport's message names the cause).
CAUSES = {
    "handshake": "",
    "reading": "",
    "silent": "RemoteProtocolError",
    "status": "RemoteProtocolError",
    "headers": "RemoteProtocolError",
    "body": "RemoteProtocolError",
    "chunked": "RemoteProtocolError",
    "garbage": "RemoteProtocolError",
    "stall": "timed out",
}


@pytest.mark.parametrize("mode", MODES)
async def test_a_front_end_dying_mid_answer_is_a_transport_error(tmp_path: Path, mode: str) -> None:
    certs = make_certs(tmp_path)
    server = await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, mode)
    endpoint = Endpoint(server.url, pin=certs.pin, timeout_s=3.0)
    body = bytes(2 << 20) if mode == "reading" else b"x" * 100  # still sending when it dies
    try:
        with trio.fail_after(20), pytest.raises(TransportError) as caught:
            await post(endpoint, "/v1/upload", body, "application/octet-stream")
    finally:
        status = await trio.to_thread.run_sync(server.end, 0 if mode == "stall" else 10)
    assert str(caught.value).startswith(f"{server.url}/v1/upload: "), caught.value
    assert CAUSES[mode] in str(caught.value), caught.value
    assert status == -9  # it really died by SIGKILL (the stall killed at the end, by its PID)


async def collector_and_box(
    tmp_path: Path, nursery: trio.Nursery
) -> tuple[Certs, CollectorStore, RunningCollector, Outbox]:
    """A collector with site-a, and site-a's enrolled outbox holding one registration."""
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "collector.duckdb")
    token = add_site(store, "site-a", now=T0.replace(tzinfo=None))
    front = await start_collector(nursery, store, certs, now=lambda: T0.replace(tzinfo=None))
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    await enrol(box, front.endpoint(), token, now=T0)
    entry, _ = box.number("serial:SER00001", {"serial": "SER00001", "supplies": []})
    box.enqueue("register", {"devices": [{"n": entry.n, **entry.info}]}, T0, devices=[entry])
    return certs, store, front, box


def stored(store: CollectorStore) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in store.con.execute("SELECT seq, kind FROM messages").fetchall()]


async def test_the_sender_keeps_the_message_and_retries_after_a_death(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, store, front, box = await collector_and_box(tmp_path, nursery)
    server = await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, "body")
    clock = [T0]
    endpoint = Endpoint(server.url, pin=certs.pin, timeout_s=5.0)
    dying = Sender(box, endpoint, lambda: clock[0], Backoff(60, 600))
    with trio.fail_after(20):
        outcome = await dying.step()
    assert await trio.to_thread.run_sync(server.end, 10) == -9
    assert outcome.state == "sent" and dying.stats.failures == 1 and dying.stats.acked == 0
    head = box.head()
    assert head is not None and (head.seq, head.attempts) == (1, 1)
    waited = head.next_attempt_at - T0.replace(tzinfo=None)
    assert dt.timedelta(seconds=30) <= waited <= dt.timedelta(seconds=60)
    last = txlog.entries(box.con)[-1]
    assert (last.seq, last.status, last.url) == (1, None, server.url)
    assert last.error is not None and "RemoteProtocolError" in last.error
    assert stored(store) == []
    # The front end is back (here: the collector's other one): the same message goes in, once.
    clock[0] = T0 + dt.timedelta(minutes=2)
    sender = Sender(box, front.endpoint(), lambda: clock[0], Backoff(60, 600))
    assert (await sender.step()).state == "sent" and sender.stats.acked == 1
    assert box.head() is None and stored(store) == [(1, "register")]
    assert not txlog.verify(box.con)
    await sender.aclose()  # the turn's kept connection (its outbox is not drained here)
    await front.stop()
    store.close()


async def test_the_next_front_end_takes_the_message_when_one_dies(
    tmp_path: Path, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    certs, store, front, box = await collector_and_box(tmp_path, nursery)
    server = await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, "headers")
    endpoint = Endpoint(server.url, pin=certs.pin, timeout_s=5.0, alternates=(front.url,))
    sender = Sender(box, endpoint, lambda: T0, Backoff(60, 600))
    with caplog.at_level(logging.WARNING, "printwatch.uplink.transport"), trio.fail_after(20):
        await sender.step()
    assert await trio.to_thread.run_sync(server.end, 10) == -9
    assert (sender.stats.acked, sender.stats.failures) == (1, 0)  # one step, no backoff
    assert stored(store) == [(1, "register")]
    assert txlog.entries(box.con)[-1].url == front.url  # the log names the front end that took it
    assert [r.getMessage() for r in caplog.records] == [
        f"uplink: {server.url}/v1/upload: RemoteProtocolError: peer closed connection without "
        f"sending complete message body (received 0 bytes, expected 100); trying {front.url}"
    ]
    # The next message starts at the front end that answered: the dead one is not tried first.
    box.enqueue("sync", {"sv": 0}, T0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "printwatch.uplink.transport"):
        await sender.step()
    assert sender.stats.acked == 2 and not caplog.records
    assert stored(store) == [(1, "register"), (2, "sync")]
    assert sender.session.reused == 1  # the second message on the first one's connection
    await sender.aclose()
    await front.stop()
    store.close()


async def test_a_503_sends_the_message_to_the_next_front_end_at_once(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, store, front, box = await collector_and_box(tmp_path, nursery)
    busy = await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, "503:30")
    endpoint = Endpoint(busy.url, pin=certs.pin, timeout_s=5.0, alternates=(front.url,))
    sender = Sender(box, endpoint, lambda: T0, Backoff(60, 600))
    with trio.fail_after(20):
        await sender.step()
    assert await trio.to_thread.run_sync(busy.end, 10) == 0
    assert sender.stats.acked == 1 and stored(store) == [(1, "register")]
    await sender.aclose()
    await front.stop()
    store.close()


@pytest.mark.parametrize(
    ("value", "wait_s"),
    [
        ("30", 30.0),  # honoured: longer than the backoff's 0.1 s
        ("99999999", 3600.0),  # bounded: a collector cannot park an appliance for three years
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),  # a date: not compared with this clock; backoff
        ("-5", None),  # not a number of seconds: backoff
        ("1e9", None),
    ],
)
async def test_retry_after_is_honoured_and_bounded(
    tmp_path: Path, nursery: trio.Nursery, value: str, wait_s: float | None
) -> None:
    certs, store, front, box = await collector_and_box(tmp_path, nursery)
    busy = [await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, f"503:{value}")]
    busy.append(await trio.to_thread.run_sync(start_dying_server, certs.certfile, certs.keyfile, "503:1"))
    # Both front ends busy: the last 503 tried is the answer, and its Retry-After counts.
    endpoint = Endpoint(busy[1].url, pin=certs.pin, timeout_s=5.0, alternates=(busy[0].url,))
    sender = Sender(box, endpoint, lambda: T0, Backoff(0.05, 0.1))
    with trio.fail_after(20):
        await sender.step()
    for server in busy:
        assert await trio.to_thread.run_sync(server.end, 10) == 0
    head = box.head()
    assert head is not None and head.attempts == 1
    waited_s = (head.next_attempt_at - T0.replace(tzinfo=None)).total_seconds()
    if wait_s is None:
        assert 0.025 <= waited_s <= 0.05
    elif wait_s == 3600.0:
        assert waited_s == wait_s  # the cap, jitter included
    else:
        assert wait_s <= waited_s <= wait_s * 1.25  # what it asked, plus up to a quarter
    entry = txlog.entries(box.con)[-1]
    assert (entry.status, entry.url) == (503, busy[0].url)
    assert json.loads(entry.response.split(b"\r\n\r\n")[1]) == {"error": "busy"}
    assert stored(store) == []
    await front.stop()
    store.close()

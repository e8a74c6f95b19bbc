"""One HTTPS connection for the messages of an upload turn (the sender's kept connection), and
what a collector can do to it: close it between messages (through a TCP relay that cuts it, as
a load balancer or the collector's idle timeout would), answer garbage on its second request,
change its certificate between connections. The collector is the real one (HTTPS, pinned) but
where it must speak garbage; in every case each message reaches it once and nothing is lost."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import h11
import pytest
import trio
from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.store import CollectorStore
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff, Sender
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint, Session, TransportError, post

from tests.support.collector import RunningCollector, start_collector
from tests.support.ports import free_tcp_port
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
MESSAGES = 6


def clock() -> Callable[[], dt.datetime]:
    """The appliance's clock on Trio's (so that a backoff comes due as the test waits)."""
    return lambda: T0 + dt.timedelta(seconds=trio.current_time())


async def enrolled_box(tmp_path: Path, store: CollectorStore, endpoint: Endpoint) -> Outbox:
    """Site ``site-a``'s outbox, enrolled at the collector, holding :data:`MESSAGES` syncs."""
    add_site(store, "site-a", now=T0.replace(tzinfo=None))
    token = new_token(store, "site-a", now=T0.replace(tzinfo=None), valid_days=30)
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    await enrol(box, endpoint, token, now=T0)
    for k in range(MESSAGES):
        box.enqueue("sync", {"devices": k}, T0, devices=[])
    return box


async def collector_and_site(
    tmp_path: Path, nursery: trio.Nursery
) -> tuple[CollectorStore, RunningCollector, Outbox]:
    """A collector on a DuckDB store in ``tmp_path``, and :func:`enrolled_box` enrolled at it."""
    certs, store = make_certs(tmp_path), CollectorStore(tmp_path / "c.duckdb")
    server = await start_collector(nursery, store, certs, now=lambda: T0.replace(tzinfo=None))
    return store, server, await enrolled_box(tmp_path, store, server.endpoint())


async def drain(sender: Sender, timeout_s: float = 20.0) -> list[str]:
    """Steps until the outbox is empty; what each step did."""
    states = []
    with trio.fail_after(timeout_s):
        while True:
            outcome = await sender.step()
            states.append(outcome.state)
            if outcome.state == "empty":
                return states
            if outcome.state == "waiting":
                await trio.sleep(0.02)


def stored_seqs(store: CollectorStore) -> list[int]:
    return [r[0] for r in store.con.execute("SELECT seq FROM messages ORDER BY seq").fetchall()]


class CuttingRelay:
    """A TCP relay to ``port`` (TLS passes through, as a load balancer's) that cuts each
    connection once the collector has spoken last and it has been quiet for ``idle_s`` (a
    balancer's or the collector's idle timeout, shorter than the appliance's; never while the
    collector is still working on a request)."""

    def __init__(self, port: int, idle_s: float) -> None:
        self.port, self.idle_s = port, idle_s
        self.connections = 0
        self.cuts = 0

    async def handle(self, client: trio.SocketStream) -> None:
        self.connections += 1
        last = [trio.current_time(), False]  # when, and whether the collector spoke

        async def pump(source: trio.SocketStream, sink: trio.SocketStream, down: bool) -> None:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                while data := await source.receive_some(65536):
                    last[:] = [trio.current_time(), down]
                    await sink.send_all(data)
            nursery.cancel_scope.cancel()

        upstream = await trio.open_tcp_stream("127.0.0.1", self.port)
        async with client, upstream, trio.open_nursery() as nursery:
            nursery.start_soon(pump, client, upstream, False)
            nursery.start_soon(pump, upstream, client, True)
            # polled: the deadline moves with every byte, and only after the collector's
            while not (last[1] and trio.current_time() >= float(last[0]) + self.idle_s):  # noqa: ASYNC110
                await trio.sleep(self.idle_s / 4)
            self.cuts += 1
            nursery.cancel_scope.cancel()


async def test_one_connection_carries_an_upload_turn_and_is_closed_at_its_end(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    store, server, box = await collector_and_site(tmp_path, nursery)
    sender = Sender(box, server.endpoint(), clock())
    assert await drain(sender) == ["sent"] * MESSAGES + ["empty"]
    assert stored_seqs(store) == list(range(1, MESSAGES + 1))
    assert (sender.session.opened, sender.session.reused) == (1, MESSAGES - 1)
    assert not sender.session.open  # the turn ended: closed
    box.enqueue("sync", {"devices": 99}, T0, devices=[])  # the next turn: a connection of its own
    assert await drain(sender) == ["sent", "empty"]
    assert sender.session.opened == 2 and stored_seqs(store)[-1] == MESSAGES + 1


async def test_a_kept_connection_idle_too_long_is_not_used_again(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    _, server, box = await collector_and_site(tmp_path, nursery)
    session = Session(idle_s=0.2)
    for k, pause_s in enumerate((0.0, 0.0, 0.4)):
        await trio.sleep(pause_s)
        head = box.head()
        assert head is not None
        answer = await post(server.endpoint(), "/v1/upload", head.envelope, "x", session=session)
        assert answer.status == 200, answer.body
        box.acknowledge(head.seq)
        assert session.opened == (1 if k < 2 else 2)
    await session.aclose()


async def test_a_collector_closing_the_connection_between_messages_loses_nothing(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, store = make_certs(tmp_path), CollectorStore(tmp_path / "c.duckdb")
    server = await start_collector(nursery, store, certs, now=lambda: T0.replace(tzinfo=None))
    relay = CuttingRelay(server.port, idle_s=0.2)
    listeners = await nursery.start(partial(trio.serve_tcp, relay.handle, 0, host="127.0.0.1"))
    relay_port = listeners[0].socket.getsockname()[1]
    endpoint = Endpoint(f"https://127.0.0.1:{relay_port}", pin=certs.pin, timeout_s=10.0)
    box = await enrolled_box(tmp_path, store, endpoint)
    sender = Sender(box, endpoint, clock(), backoff=Backoff(0.02, 0.1))
    with trio.fail_after(20):
        for _ in range(MESSAGES):
            assert (await sender.step()).state == "sent" and sender.session.open
            await trio.sleep(0.6)  # the relay cuts the kept connection meanwhile
    assert stored_seqs(store) == list(range(1, MESSAGES + 1))  # each once, in order
    assert sender.stats.failures == 0  # a closed kept connection is no failure: a new one at once
    assert sender.session.opened == MESSAGES and sender.session.reused == 0
    assert relay.cuts >= MESSAGES
    await sender.aclose()
    assert not sender.session.open


class GarbageOnSecond:
    """A TLS server speaking HTTP/1.1 keep-alive that acknowledges the first request of each
    connection (``{"ack": seq}``, counting from ``first``) and answers the second with bytes that
    are not HTTP."""

    def __init__(self, first: int) -> None:
        self.next_ack = first
        self.requests: list[int] = []

    async def handle(self, stream: trio.SSLStream[trio.SocketStream]) -> None:
        conn = h11.Connection(h11.SERVER)
        served = 0
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    conn.receive_data(bytes(data))
                elif isinstance(event, h11.EndOfMessage):
                    served += 1
                    self.requests.append(served)
                    if served == 2:
                        await stream.send_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all")
                        await trio.sleep(0.2)
                        return
                    body = json.dumps({"ack": self.next_ack}).encode()
                    self.next_ack += 1
                    head = h11.Response(
                        status_code=200,
                        headers=[("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                    )
                    await stream.send_all(
                        conn.send(head) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
                    )
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (trio.BrokenResourceError, h11.ProtocolError):
            return
        finally:
            await trio.aclose_forcefully(stream)


async def serve_tls(
    nursery: trio.Nursery,
    certs: Certs,
    handler: Callable[[trio.SSLStream[trio.SocketStream]], Awaitable[None]],
) -> int:
    listeners = await nursery.start(
        partial(trio.serve_ssl_over_tcp, handler, 0, certs.server_context(), host="127.0.0.1")
    )
    return int(listeners[0].transport_listener.socket.getsockname()[1])


async def test_garbage_on_the_second_request_closes_the_connection_and_keeps_the_message(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    for k in range(3):
        box.enqueue("sync", {"devices": k}, T0, devices=[])
    first = box.head()
    assert first is not None
    server = GarbageOnSecond(first.seq)
    port = await serve_tls(nursery, certs, server.handle)
    endpoint = Endpoint(f"https://127.0.0.1:{port}", pin=certs.pin, timeout_s=5.0)
    sender = Sender(box, endpoint, clock(), backoff=Backoff(0.02, 0.1))
    assert (await sender.step()).state == "sent" and sender.stats.acked == 1 and sender.session.open
    await sender.step()  # the garbage: a failure, the connection closed, the message kept
    assert sender.stats.failures == 1 and "RemoteProtocolError" in (sender.stats.last_error or "")
    assert not sender.session.open and box.pending()[0] == 2
    await drain(sender)  # each later connection: one acknowledged, then garbage, then a new one
    assert box.pending()[0] == 0 and sender.stats.acked == 3 and sender.stats.failures == 2
    assert sender.session.opened == 3 and server.requests == [1, 2, 1, 2, 1]


async def test_a_pin_changed_between_connections_is_refused_and_the_message_kept(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, other = make_certs(tmp_path / "a"), make_certs(tmp_path / "b")
    store, port = CollectorStore(tmp_path / "c.duckdb"), free_tcp_port()
    now = lambda: T0.replace(tzinfo=None)  # noqa: E731
    server = await start_collector(nursery, store, certs, now=now, port=port)
    box = await enrolled_box(tmp_path, store, server.endpoint())
    sender = Sender(box, server.endpoint(), clock(), backoff=Backoff(0.02, 0.1))
    assert (await sender.step()).state == "sent" and sender.session.open
    await server.stop()  # mid-turn: the kept connection dies with it, a new key takes the port
    impostor = await start_collector(nursery, store, other, now=now, port=port)
    await sender.step()
    assert sender.stats.failures == 1 and "pin_mismatch" in (sender.stats.last_error or "")
    assert not sender.session.open and stored_seqs(store) == [1]
    assert box.pending()[0] == MESSAGES - 1
    await impostor.stop()
    await start_collector(nursery, store, certs, now=now, port=port)  # the real key again
    await drain(sender)
    assert stored_seqs(store) == list(range(1, MESSAGES + 1))


async def test_without_a_session_each_request_closes_its_connection(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    _, server, box = await collector_and_site(tmp_path, nursery)
    head = box.head()
    assert head is not None
    answer = await post(server.endpoint(), "/v1/upload", head.envelope, "x")
    assert answer.status == 200 and b"connection: close" in answer.request_bytes.lower()
    with pytest.raises(TransportError, match="pin_mismatch"):
        await post(Endpoint(server.url, pin="sha256/" + "A" * 43 + "="), "/v1/upload", head.envelope, "x")

"""The collector keeps HTTPS connections alive for the appliances' upload turns, but no client
holds one (and a front end's task for it) at will: a connection without a request is closed
after ``keep_alive_timeout_s`` (before its first request too), and after
``keep_alive_max_requests`` requests the answer says ``Connection: close`` and the connection
ends. The real server (hypercorn over TLS), its limits made short for the test."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
from functools import partial
from pathlib import Path

import h11
import pytest
import trio
from printwatch.collector.server import (
    KEEP_ALIVE_MAX_REQUESTS,
    KEEP_ALIVE_TIMEOUT_S,
    TLS_HANDSHAKE_TIMEOUT_S,
    create_app,
    serve_collector,
)
from printwatch.collector.store import CollectorStore
from printwatch.uplink.transport import KEEP_IDLE_S

from tests.support.tls import Certs, closed_without_hello, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 30, 10, 0)


async def serving(nursery: trio.Nursery, tmp_path: Path, **limits: float) -> tuple[Certs, int]:
    """A collector on a free port, with ``limits`` (``serve_collector``'s keyword limits) in
    place of its defaults; its certificates and port."""
    certs = make_certs(tmp_path)
    app = create_app(CollectorStore(tmp_path / "c.duckdb"), now=lambda: T0)
    serve = partial(
        serve_collector, app, "127.0.0.1", 0, certfile=certs.certfile, keyfile=certs.keyfile, **limits
    )
    _, port = await nursery.start(serve)
    return certs, port


async def connect(certs: Certs, port: int) -> trio.SSLStream[trio.SocketStream]:
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    stream = trio.SSLStream(
        await trio.open_tcp_stream("127.0.0.1", port), context, server_hostname="127.0.0.1"
    )
    await stream.do_handshake()
    return stream


async def closed_within(stream: trio.SSLStream[trio.SocketStream], timeout_s: float) -> float:
    """Seconds until the collector ends the connection (it sends nothing before)."""
    started = trio.current_time()
    with trio.fail_after(timeout_s):
        try:
            data = await stream.receive_some(4096)
        except trio.BrokenResourceError:
            data = b""
    await trio.aclose_forcefully(stream)
    assert data == b""
    return trio.current_time() - started


async def ask(stream: trio.SSLStream[trio.SocketStream], conn: h11.Connection) -> h11.Response:
    """A request for ``/api/sites`` (no credential: 401) and its whole answer."""
    request = h11.Request(method="GET", target="/api/sites", headers=[("Host", "127.0.0.1")])
    await stream.send_all((conn.send(request) or b"") + (conn.send(h11.EndOfMessage()) or b""))
    response = None
    with trio.fail_after(10):
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(65536)))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.EndOfMessage):
                break
    assert response is not None
    return response


def test_the_appliance_leaves_a_kept_connection_before_the_collector_closes_it() -> None:
    assert KEEP_IDLE_S < KEEP_ALIVE_TIMEOUT_S and KEEP_ALIVE_MAX_REQUESTS >= 16  # a turn's messages


async def test_a_connection_without_a_request_is_closed(tmp_path: Path, nursery: trio.Nursery) -> None:
    certs, port = await serving(nursery, tmp_path, keep_alive_timeout_s=0.5)
    idle = await connect(certs, port)
    assert 0.3 < await closed_within(idle, 5.0) < 3.0


async def test_a_kept_connection_idle_after_its_answer_is_closed(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, port = await serving(nursery, tmp_path, keep_alive_timeout_s=0.5)
    stream, conn = await connect(certs, port), h11.Connection(h11.CLIENT)
    assert (await ask(stream, conn)).status_code == 401
    conn.start_next_cycle()
    assert (await ask(stream, conn)).status_code == 401  # kept: a second request on it
    assert 0.3 < await closed_within(stream, 5.0) < 3.0


async def test_a_connection_carries_at_most_its_cap_of_requests(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, port = await serving(nursery, tmp_path, keep_alive_max_requests=3)
    stream, conn = await connect(certs, port), h11.Connection(h11.CLIENT)
    for k in range(3):
        answer = await ask(stream, conn)
        closing = (b"connection", b"close") in [(n.lower(), v.lower()) for n, v in answer.headers]
        assert closing == (k == 2), (k, answer.headers)
        if k < 2:
            conn.start_next_cycle()
    assert conn.their_state is h11.MUST_CLOSE
    await closed_within(stream, 5.0)


async def test_a_connection_that_never_completes_its_handshake_is_closed(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    # A client that opens TCP and sends no ClientHello (or sends it slowly) holds a connection
    # before any idle timer runs: hypercorn's own handshake limit is 60 s, 12 times the idle one.
    _, port = await serving(nursery, tmp_path, handshake_timeout_s=0.5)
    assert 0.3 < await closed_without_hello(port, 5.0) < 3.0


def test_the_handshake_limit_is_the_idle_ones_order() -> None:
    assert TLS_HANDSHAKE_TIMEOUT_S <= 2 * KEEP_ALIVE_TIMEOUT_S


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux's TCP_USER_TIMEOUT")
async def test_a_client_that_reads_no_answer_does_not_hold_its_connection(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    # Requests pipelined on a kept connection, their answers never read: hypercorn's write of an
    # answer has no timeout of its own (and is shielded), so without the kernel's limit the
    # connection (its task, the server's shutdown) waited for the client for ever.
    certs, port = await serving(nursery, tmp_path, keep_alive_timeout_s=0.5, send_timeout_s=1.0)
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    await sock.connect(("127.0.0.1", port))
    context = ssl.create_default_context(cafile=str(certs.ca_file))
    stream = trio.SSLStream(trio.SocketStream(sock), context, server_hostname="127.0.0.1")
    await stream.do_handshake()
    request = b"GET /api/sites?q=" + b"a" * 3000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    requests = KEEP_ALIVE_MAX_REQUESTS - 1

    async def send() -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(request * requests)

    nursery.start_soon(send)
    await trio.sleep(3.0)  # the client reads nothing meanwhile
    received = bytearray()
    try:
        with trio.fail_after(10):
            while received.count(b"HTTP/1.1 401 ") < requests:
                data = await stream.receive_some(65536)
                if not data:
                    break
                received += data
    except trio.BrokenResourceError:
        pass  # the connection was ended, as it should
    finally:
        await trio.aclose_forcefully(stream)
    answers = received.count(b"HTTP/1.1 401 ")
    assert answers < requests  # not every answer waited for the client: the connection ended

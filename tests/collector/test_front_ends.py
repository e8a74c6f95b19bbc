"""Several collector front ends on one PostgreSQL database (docs/collector.md).

Two in this process, each with its own connection and database thread, receive one site's
messages at the same moment over real HTTPS: no sequence number is accepted twice, none past a
gap. Three ``collector serve`` processes behind a TCP balancer take six appliances' uploads
through the real uplink while one is killed (SIGKILL) and started again: every message once and
in order, the meter deltas rebuilt exactly."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint, post

from tests.support.collector import RunningCollector, start_collector
from tests.support.fakes import contract_doc
from tests.support.ports import free_tcp_port
from tests.support.postgres import run_postgres, start_postgres
from tests.support.processes import PRINTWATCH
from tests.support.tls import Certs, make_certs

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
ENVELOPE = "application/vnd.printwatch.envelope"
AGGREGATES = 40
DELTA = 10
#: An enrolment token's validity for front ends that read the system clock (until past 2100).
FOREVER_DAYS = 365 * 80


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


class Balancer:
    """A TCP load balancer on 127.0.0.1 in front of the front ends: each connection goes to a
    random live one (the next ones in turn when it refuses), TLS passed through untouched."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = 0
        self.rng = random.Random(21)
        self.served: Counter[int] = Counter()

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self.forward, listeners)

    async def _backend(self) -> trio.SocketStream:
        start = self.rng.randrange(len(self.ports))
        for k in range(len(self.ports)):
            port = self.ports[(start + k) % len(self.ports)]
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                continue
            self.served[port] += 1
            return stream
        raise OSError("no front end answers")

    async def forward(self, client: trio.SocketStream) -> None:
        try:
            backend = await self._backend()
        except OSError:
            await client.aclose()
            return
        async with client, backend, trio.open_nursery() as pipes:
            pipes.start_soon(pipe, client, backend, pipes.cancel_scope)
            pipes.start_soon(pipe, backend, client, pipes.cancel_scope)


async def pipe(source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    scope.cancel()


def front_end(port: int, certs: Certs, url: str) -> subprocess.Popen[str]:
    """``collector serve`` in a child process on ``port``, started when this returns."""
    proc = subprocess.Popen(
        [*PRINTWATCH, "collector", "serve", "--port", str(port), "--cert", str(certs.certfile),
         "--key", str(certs.keyfile), "--store", url, "--duration", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(f"collector: https://127.0.0.1:{port}"), line
    return proc


SITES = 6
PARTS = 8
DEVICES = [(f"10.9.0.{i}", 161) for i in range(1, 4)]


def stop_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


async def appliances(
    nursery: trio.Nursery,
    tmp_path: Path,
    endpoint: Endpoint,
    tokens: dict[str, str],
    clock: list[dt.datetime],
) -> list[UplinkService]:
    services = []
    for site, token in tokens.items():
        box = Outbox(tmp_path / f"{site}.duckdb", Identity.generate(), site)
        svc = UplinkService(
            box, endpoint, now=lambda: clock[0], token=token, backoff=Backoff(0.01, 0.1), idle_s=0.02
        )
        await nursery.start(svc.serve)
        services.append(svc)
    return services


async def feed_while_one_dies(
    services: list[UplinkService], clock: list[dt.datetime], procs: list[subprocess.Popen[str]], restart: Any
) -> None:
    """:data:`PARTS` parts of days of every appliance; the first front end killed with SIGKILL
    while the third part's uploads are under way, started again at the sixth."""
    for part in range(1, PARTS + 1):
        clock[0] = T0 + dt.timedelta(hours=6 * part)
        docs = [contract_doc(d, part, clock[0]) for d in DEVICES]
        for svc in services:
            await svc.observe(docs)
            await svc.upload(clock[0])
            svc.wake()
        await trio.sleep(0.01)
        if part == 3:
            procs[0].kill()
            procs[0].wait(10)
            if procs[0].stdout is not None:
                procs[0].stdout.close()
        if part == 6:
            procs[0] = await trio.to_thread.run_sync(restart)
        await trio.sleep(0.2)
    with trio.fail_after(60):
        for svc in services:
            while (await svc.outbox_counts())[0]:
                svc.wake()
                await trio.sleep(0.02)


def check_site(store: CollectorStore, site: str) -> None:
    """Every message once and in order, the meters rebuilt exactly."""
    rows = store.con.execute("SELECT seq FROM messages WHERE site_id = ? ORDER BY seq", [site]).fetchall()
    got = [r[0] for r in rows]
    assert got == list(range(1, len(got) + 1)) and len(got) >= 1 + PARTS, (site, got)
    totals = store.con.execute(
        "SELECT d.serial, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
        "WHERE m.site_id = ? AND m.meter = 'total' ORDER BY d.serial",
        [site],
    ).fetchall()
    assert [v for _, v in totals] == [1000 + 10 * PARTS] * len(DEVICES), (site, totals)


@pytest.mark.realtime
async def test_front_ends_behind_a_balancer_one_killed_and_restarted_lose_nothing(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(postgres_url)
    # The front ends are child processes on the system's clock, not T0's: tokens that stay valid
    # on any date they may run at (faketime included), rather than reading today's date.
    tokens = {
        f"site-{i}": add_site(store, f"site-{i}", now=T0.replace(tzinfo=None), valid_days=FOREVER_DAYS)
        for i in range(SITES)
    }
    ports = [free_tcp_port() for _ in range(3)]
    procs = [await trio.to_thread.run_sync(front_end, p, certs, postgres_url) for p in ports]
    try:
        balancer = Balancer(ports)
        await nursery.start(balancer.serve)
        endpoint = Endpoint(f"https://127.0.0.1:{balancer.port}", pin=certs.pin, timeout_s=10.0)
        clock = [T0]
        services = await appliances(nursery, tmp_path, endpoint, tokens, clock)
        await feed_while_one_dies(services, clock, procs, lambda: front_end(ports[0], certs, postgres_url))
    finally:
        stop_all(procs)
    assert all(balancer.served[p] for p in ports), balancer.served  # all three took uploads
    for site in tokens:
        check_site(store, site)
    store.close()


@pytest.mark.realtime
async def test_postgres_down_is_a_quick_503_and_nothing_is_lost_when_it_returns(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="printwatch-pg-down-"))
    server = await trio.to_thread.run_sync(start_postgres, folder)
    try:
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
        server = await trio.to_thread.run_sync(run_postgres, folder, server.port)  # and comes back
        for k, body in enumerate(bodies[1:], start=2):
            r = await post(front.endpoint(), "/v1/upload", body, ENVELOPE)
            assert (r.status, json.loads(r.body)["ack"]) == (200, k)
        got = store.con.execute("SELECT seq, kind FROM messages ORDER BY seq").fetchall()
        assert got == [(1, "register"), (2, "aggregate"), (3, "aggregate")]
        await front.stop()
        store.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

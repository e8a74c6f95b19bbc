"""Several collector front ends for the tests of issue 21 (docs/collector.md): ``collector serve``
processes on one PostgreSQL, a TCP balancer in front of them, appliances' clocks, and the check
that a site's messages reached the collector exactly once, in order, its meters rebuilt exactly.

* :func:`start_front_end` runs ``collector serve`` in a child process (its output in a file of the
  test's folder), :func:`stop_front_ends` stops them (SIGINT, by PID); :func:`running_front_ends`
  does both around a block, on free ports;
* :class:`Balancer` passes each TCP connection to a random live front end (TLS untouched);
* :class:`SiteClock` is the appliances' clock: a fixed start, a settable offset and the time
  elapsed (never the real date);
* :func:`enrolled_appliance` adds a site at the collector and makes its appliance's uplink;
  :func:`serving` runs appliances for a block; :func:`upload_docs` feeds one poll documents
  (:func:`record` keeps the meters they carry in a :data:`Fed`) and uploads them;
  :func:`acked` counts what the collector took (``tests.support.collector.drained`` waits for
  empty outboxes);
* :func:`accepted` reads from an appliance's transmission log the messages the collector took
  (200 ``ack``, or 409 ``expected = seq + 1``), decoded; :func:`check_site` compares them with
  the collector's rows, and the meters fed with the collector's reads.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity, open_envelope
from printwatch.uplink.transport import Endpoint

from tests.support.ports import free_tcp_port
from tests.support.processes import PRINTWATCH
from tests.support.tls import Certs

START_TIMEOUT_S = 60.0
#: Enrolment tokens' validity for these front ends, which read the system clock (a
#: ``collector serve`` process takes no clock): made at a test's fixed date, valid past 2100.
FOREVER_DAYS = 365 * 80


@dataclass
class FrontEnd:
    """One ``collector serve`` process on ``port`` of 127.0.0.1."""

    port: int
    certs: Certs
    store_url: str
    folder: Path
    #: It stops by itself after this (a bound should the test die without stopping it).
    duration_s: float = 900.0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def output(self) -> Path:
        return self.folder / f"front-end-{self.port}.log"

    def start(self) -> FrontEnd:
        """Starts it (again), serving when this returns (blocking: run it in a thread)."""
        self.starts += 1
        mark = f"collector: https://127.0.0.1:{self.port}".encode()
        with self.output.open("ab") as out:  # the child keeps its own descriptor
            offset = out.tell()
            self.proc = subprocess.Popen(
                [*PRINTWATCH, "collector", "serve", "--port", str(self.port), "--cert",
                 str(self.certs.certfile), "--key", str(self.certs.keyfile), "--store", self.store_url,
                 "--duration", str(self.duration_s)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while mark not in self.output.read_bytes()[offset:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"collector serve did not start: {self.output.read_bytes()[offset:]!r}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL, by PID (a front end that dies)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGINT (a front end stopped by its operator), then SIGKILL after 30 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> FrontEnd:
        self.stop()
        return self.start()


def start_front_ends(
    ports: list[int], certs: Certs, store_url: str, folder: Path, duration_s: float = 900.0
) -> list[FrontEnd]:
    """One front end per port, all serving when this returns (blocking)."""
    started: list[FrontEnd] = []
    try:
        for port in ports:
            started.append(FrontEnd(port, certs, store_url, folder, duration_s).start())
    except BaseException:
        stop_front_ends(started)
        raise
    return started


def stop_front_ends(fronts: list[FrontEnd]) -> None:
    for front in fronts:
        front.stop()


@asynccontextmanager
async def running_front_ends(
    count: int, certs: Certs, store_url: str, folder: Path, duration_s: float = 900.0
) -> AsyncIterator[list[FrontEnd]]:
    """``count`` front ends on free ports, serving in the block, stopped after it."""
    ports = [free_tcp_port() for _ in range(count)]
    fronts = await trio.to_thread.run_sync(start_front_ends, ports, certs, store_url, folder, duration_s)
    try:
        yield fronts
    finally:
        await trio.to_thread.run_sync(stop_front_ends, fronts)


class Balancer:
    """A TCP load balancer on 127.0.0.1 in front of the front ends: each connection goes to a
    random live one (the next ones in turn when it refuses), TLS passed through untouched."""

    def __init__(self, ports: list[int], seed: int = 21) -> None:
        self.ports = ports
        self.port = 0
        self.rng = random.Random(seed)
        self.served: Counter[int] = Counter()
        self.open: Counter[int] = Counter()  # connections open now, by front end
        #: connections whose client spoke last (a request under way, not a kept idle one)
        self.asking: Counter[int] = Counter()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self.forward, listeners)

    async def _backend(self) -> tuple[int, trio.SocketStream]:
        start = self.rng.randrange(len(self.ports))
        for k in range(len(self.ports)):
            port = self.ports[(start + k) % len(self.ports)]
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                continue
            self.served[port] += 1
            return port, stream
        raise OSError("no front end answers")

    async def forward(self, client: trio.SocketStream) -> None:
        try:
            port, backend = await self._backend()
        except OSError:
            await client.aclose()
            return
        self.open[port] += 1
        asking = [False]

        def spoke(client_spoke: bool) -> None:
            if client_spoke != asking[0]:
                self.asking[port] += 1 if client_spoke else -1
                asking[0] = client_spoke

        try:
            async with client, backend, trio.open_nursery() as pipes:
                pipes.start_soon(pipe, client, backend, pipes.cancel_scope, lambda: spoke(True))
                pipes.start_soon(pipe, backend, client, pipes.cancel_scope, lambda: spoke(False))
        finally:
            spoke(False)
            self.open[port] -= 1


async def pipe(
    source: trio.SocketStream,
    sink: trio.SocketStream,
    scope: trio.CancelScope,
    spoke: Callable[[], None] = lambda: None,
) -> None:
    try:
        async for chunk in source:
            spoke()
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    scope.cancel()


@dataclass
class SiteClock:
    """The appliances' time: ``start`` plus ``offset`` plus the (monotonic) time elapsed, so that
    backoff and ``Retry-After`` run in real seconds while the test moves the days on."""

    start: dt.datetime
    offset: dt.timedelta = dt.timedelta(0)
    t0: float = field(default_factory=time.monotonic)

    def __call__(self) -> dt.datetime:
        return self.start + self.offset + dt.timedelta(seconds=time.monotonic() - self.t0)


#: Fed meters: ``{serial: {meter: [absolute value after each upload, ...]}}``.
Fed = dict[str, dict[str, list[int]]]


def enrolled_appliance(
    store: CollectorStore, folder: Path, name: str, endpoint: Endpoint, clock: SiteClock
) -> UplinkService:
    """Site ``name`` added at the collector (its token valid for :data:`FOREVER_DAYS` from the
    clock's start) and its appliance's uplink, not started: an outbox of its own in ``folder``,
    a new key, a quick backoff. Its DuckDB keeps to one thread (many appliances in one process)."""
    token = add_site(store, name, now=clock.start.replace(tzinfo=None), valid_days=FOREVER_DAYS)
    box = Outbox(folder / f"{name}.duckdb", Identity.generate(), name)
    box.con.execute("SET threads TO 1")
    return UplinkService(box, endpoint, now=clock, token=token, backoff=Backoff(0.05, 0.5), idle_s=30.0)


@asynccontextmanager
async def serving(services: Iterable[UplinkService]) -> AsyncIterator[None]:
    """The appliances' uplinks serving in the block, cancelled after it."""
    async with trio.open_nursery() as nursery:
        for service in services:
            await nursery.start(service.serve)
        yield
        nursery.cancel_scope.cancel()


def record(fed: Fed, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc``, its meters kept in ``fed`` (what the collector must rebuild)."""
    for meter, value in doc["meters"].items():
        fed.setdefault(str(doc["serial"]), {}).setdefault(meter, []).append(value)
    return doc


async def upload_docs(service: UplinkService, docs: Sequence[dict[str, Any]], clock: SiteClock) -> None:
    """An appliance's poll: ``docs`` observed, then uploaded at the clock's time."""
    await service.observe(docs)
    await service.upload(clock())
    service.wake()


def acked(services: Iterable[UplinkService]) -> int:
    """The messages the collector took from ``services`` (acknowledged, or duplicates)."""
    return sum(s.sender.stats.acked + s.sender.stats.duplicates for s in services)


def _body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""


def accepted(box: Outbox) -> dict[int, dict[str, Any]]:
    """The messages the collector took, by sequence number, as the appliance's log shows them:
    the envelope of each attempt answered 200 ``{"ack": seq}`` or 409 ``{"expected": seq + 1}``
    (a duplicate: its first ack was lost), opened with the appliance's key and decoded."""
    out: dict[int, dict[str, Any]] = {}
    for entry in txlog.entries(box.con):
        if entry.seq is None or entry.status not in (200, 409):
            continue
        try:
            reply = json.loads(_body(entry.response))
        except ValueError:
            continue
        took = (
            reply.get("ack") == entry.seq if entry.status == 200 else reply.get("expected") == entry.seq + 1
        )
        if not took:
            continue
        _, payload = open_envelope(_body(entry.request), lambda _kid: box.identity.public_raw)
        message = decode_payload(payload)
        assert out.get(entry.seq, message) == message, f"message {entry.seq} sent twice, differently"
        out[entry.seq] = message
    return out


def check_site(store: CollectorStore, site: str, sent: dict[int, dict[str, Any]], fed: Fed) -> int:
    """The collector holds exactly the messages the site sent, once each and in order (their
    payloads equal), ``last_seq`` at the last one, and every device's meter reads are the values
    the appliance read, rebuilt from the deltas: nothing half stored, nothing twice. Returns the
    number of messages."""
    con = store.con
    rows = con.execute(
        "SELECT seq, kind, payload FROM messages WHERE site_id = ? ORDER BY seq, received_at", [site]
    ).fetchall()
    seqs = [int(r[0]) for r in rows]
    assert seqs == list(range(1, len(rows) + 1)), (site, seqs)  # once each, no gap
    assert sorted(sent) == seqs, (site, sorted(sent), seqs)  # what was acknowledged is what is there
    for seq, kind, payload in rows:
        message = json.loads(payload) if isinstance(payload, str) else payload
        assert message == json.loads(json.dumps(sent[seq])), (site, seq)
        assert kind == sent[seq]["kind"]
    [(last_seq,)] = con.execute("SELECT last_seq FROM sites WHERE site_id = ?", [site]).fetchall()
    assert last_seq == len(rows), (site, last_seq, len(rows))
    reads = con.execute(
        "SELECT d.serial, r.meter, r.value FROM meter_reads r JOIN devices d USING (site_id, n) "
        "WHERE r.site_id = ? AND r.source = 'aggregate' ORDER BY r.seq",
        [site],
    ).fetchall()
    got: Fed = {}
    for serial, meter, value in reads:
        got.setdefault(serial, {}).setdefault(meter, []).append(int(value))
    assert got == fed, (site, got, fed)
    latest = con.execute(
        "SELECT d.serial, m.meter, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
        "WHERE m.site_id = ?",
        [site],
    ).fetchall()
    assert {(s, m): int(v) for s, m, v in latest} == {
        (s, m): values[-1] for s, meters in fed.items() for m, values in meters.items()
    }, site
    return len(rows)

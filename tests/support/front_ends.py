"""Several collector front ends for the tests of issue 21 (docs/collector.md): ``collector serve``
processes on one PostgreSQL, a TCP balancer in front of them, appliances' clocks, and the check
that a site's messages reached the collector exactly once, in order, its meters rebuilt exactly.

* :func:`start_front_end` runs ``collector serve`` in a child process (its output in a file of the
  test's folder), :func:`stop_front_ends` stops them (SIGINT, by PID);
* :class:`Balancer` passes each TCP connection to a random live front end (TLS untouched);
* :class:`SiteClock` is the appliances' clock: a fixed start, a settable offset and the time
  elapsed (never the real date);
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import open_envelope

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


class Balancer:
    """A TCP load balancer on 127.0.0.1 in front of the front ends: each connection goes to a
    random live one (the next ones in turn when it refuses), TLS passed through untouched."""

    def __init__(self, ports: list[int], seed: int = 21) -> None:
        self.ports = ports
        self.port = 0
        self.rng = random.Random(seed)
        self.served: Counter[int] = Counter()
        self.open: Counter[int] = Counter()  # connections open now, by front end

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
        try:
            async with client, backend, trio.open_nursery() as pipes:
                pipes.start_soon(pipe, client, backend, pipes.cancel_scope)
                pipes.start_soon(pipe, backend, client, pipes.cancel_scope)
        finally:
            self.open[port] -= 1


async def pipe(source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope) -> None:
    try:
        async for chunk in source:
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


#: Fed meters: ``{serial: {meter: [absolute value after each upload, ...]}}``.
Fed = dict[str, dict[str, list[int]]]


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

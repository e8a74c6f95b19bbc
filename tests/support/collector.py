"""The collector as a real peer: its HTTPS server on 127.0.0.1 with a test's certificates
(tests/support/tls.py), in the test's Trio run, for the uplink's and the collector's tests, or
in a Trio run of its own in a thread (:func:`collector_in_thread`) for a test that is not async
(the browser tests). :func:`upload_site` sends a site's first messages the real way (an
appliance's outbox, enrolment, HTTPS); :class:`FedSite` feeds the store's ingest directly."""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import trio
from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.ingest import receive
from printwatch.collector.server import create_app, serve_collector
from printwatch.collector.store import CollectorStore
from printwatch.uplink import enrol as uplink_enrol
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity, seal
from printwatch.uplink.transport import Endpoint, post
from starlette.applications import Starlette

from tests.support.tls import Certs


@dataclass
class RunningCollector:
    store: CollectorStore
    certs: Certs
    port: int = 0
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    stopped: trio.Event = field(default_factory=trio.Event)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def endpoint(self, **kw: object) -> Endpoint:
        return Endpoint(self.url, pin=self.certs.pin, timeout_s=10.0, **kw)  # type: ignore[arg-type]

    async def stop(self) -> None:
        self.scope.cancel()
        await self.stopped.wait()


async def start_collector(
    nursery: trio.Nursery,
    store: CollectorStore,
    certs: Certs,
    *,
    now: Callable[[], dt.datetime],
    port: int = 0,
    app: object = None,
) -> RunningCollector:
    """The collector on 127.0.0.1 (``port`` 0: a free one) with the clock ``now`` (naive UTC,
    the test's: never the real date), until ``stop()``."""
    running = RunningCollector(store, certs, port)

    async def run(task_status: trio.TaskStatus[tuple[str, int]]) -> None:
        try:
            with running.scope:
                await serve_collector(
                    cast(Starlette, app) if app is not None else create_app(store, now=now),
                    "127.0.0.1",
                    port,
                    certfile=certs.certfile,
                    keyfile=certs.keyfile,
                    task_status=task_status,
                )
        finally:
            running.stopped.set()

    _, running.port = await nursery.start(run)
    return running


@contextlib.contextmanager
def collector_in_thread(
    store: CollectorStore,
    certs: Certs,
    *,
    now: Callable[[], dt.datetime],
    prepare: Callable[[RunningCollector], Awaitable[None]] | None = None,
    timeout_s: float = 120.0,
) -> Iterator[str]:
    """The collector (:func:`start_collector`) in a Trio run in a thread of its own, serving in
    the block once ``prepare`` (if given) has run in that Trio run (the appliances' uploads, say);
    its URL. Stopped after the block (the thread joined, within 30 s).

    Error handling: what ``start_collector`` or ``prepare`` raised is raised here; neither
    starting nor preparing may take more than ``timeout_s``."""
    started: queue.Queue[str | BaseException] = queue.Queue()
    stop: list[tuple[trio.lowlevel.TrioToken, trio.Event]] = []

    async def serve() -> None:
        done = trio.Event()
        stop.append((trio.lowlevel.current_trio_token(), done))
        async with trio.open_nursery() as nursery:
            try:
                collector = await start_collector(nursery, store, certs, now=now)
                if prepare is not None:
                    await prepare(collector)
            except BaseException as err:
                started.put(err)
                raise
            started.put(collector.url)
            await done.wait()
            await collector.stop()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    try:
        url = started.get(timeout=timeout_s)
        if isinstance(url, BaseException):
            raise url
        yield url
    finally:
        if stop:
            token, done = stop[0]
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(done.set, trio_token=token)
        thread.join(timeout=30)


ENVELOPE = "application/vnd.printwatch.envelope"


async def upload_site(
    endpoint: Endpoint,
    folder: Path,
    site: str,
    token: str,
    printers: Sequence[tuple[dict[str, Any], dict[str, int]]],
    *,
    now: dt.datetime,
    made: dt.datetime | None = None,
    cycle: str = "2026-11-01",
) -> None:
    """Site ``site``'s appliance (its outbox in ``folder``) enrols with ``token`` at ``now``, then
    sends, made at ``made`` (default ``now``), the registration of ``printers`` (each its
    information, with a ``serial``, and its meters) and their billing read of ``cycle``, each
    message acknowledged (200) before the next."""
    box = Outbox(folder / f"{site}.duckdb", Identity.generate(), site)
    await uplink_enrol.enrol(box, endpoint, token, now=now)
    entries, reads = [], []
    for info, meters in printers:
        entry, _ = box.number(f"serial:{info['serial']}", info)
        box.devices[entry.identity] = entry  # numbered: the next one gets the next number
        entries.append(entry)
        reads.append([entry.n, meters])
    register = {"appliance": {"version": "9.9.9"}, "devices": [{"n": e.n, **e.info} for e in entries]}
    box.enqueue("register", register, made or now, devices=entries)
    box.enqueue("billing", {"cycle": cycle, "r": reads}, made or now)
    while (head := box.head()) is not None:
        answer = await post(endpoint, "/v1/upload", head.envelope, ENVELOPE)
        assert answer.status == 200, answer.body
        box.acknowledge(head.seq)
    box.close()


ENROLLED = dt.datetime(2026, 9, 1)


class FedSite:
    """One enrolled site and its appliance (a real key), sending signed messages straight into
    the store's ingest (no HTTP): for tests of what the collector makes of what it received."""

    def __init__(
        self, store: CollectorStore, site: str = "site-a", *, enrolled: dt.datetime = ENROLLED
    ) -> None:
        self.store, self.site, self.seq = store, site, 0
        token = add_site(store, site, now=enrolled)
        self.me = Identity.generate()
        enrol(store, site, token, self.me.public_raw, now=enrolled)

    def send(self, kind: str, data: dict[str, Any], at: dt.datetime, now: dt.datetime | None = None) -> Any:
        """Message ``seq + 1`` made at ``at`` (appliance's clock), received at ``now`` (the
        collector's; default ``at``); returns ingest's ``Accepted``."""
        self.seq += 1
        stamp = int(at.replace(tzinfo=dt.UTC).timestamp())
        message = {"site": self.site, "seq": self.seq, "kind": kind, "at": stamp, "data": data}
        return receive(self.store, seal(self.me, encode_payload(message)), now=now or at)


class SimNow:
    """Wall time for an appliance and its collector: ``start`` plus a settable ``offset`` plus the
    time elapsed (monotonic: the collector reads it from its database thread too)."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        self.offset = dt.timedelta(0)
        self.t0 = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + self.offset + dt.timedelta(seconds=time.monotonic() - self.t0)

    def naive(self) -> dt.datetime:
        """The same time for the collector (naive UTC): both sides of these tests agree."""
        return self().replace(tzinfo=None)


async def drained(services: Iterable[UplinkService], timeout_s: float = 30.0, step_s: float = 0.01) -> None:
    """Returns once every service's outbox is empty, waking each to send (``trio.TooSlowError``
    after ``timeout_s``)."""
    with trio.fail_after(timeout_s):
        for service in services:
            while (await service.outbox_counts())[0]:
                service.wake()
                await trio.sleep(step_s)

"""The collector as a real peer: its HTTPS server on 127.0.0.1 with a test's certificates
(tests/support/tls.py), in the test's Trio run, for the uplink's and the collector's tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import trio
from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.ingest import receive
from printwatch.collector.server import create_app, serve_collector
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.signing import Identity, seal
from printwatch.uplink.transport import Endpoint
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

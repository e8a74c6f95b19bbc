"""Issue 21's test of several front ends: three ``collector serve`` processes on one real
PostgreSQL, 50 sites uploading at once through the real uplink (outbox, signing, HTTPS with the
collector's key pinned) to front ends picked at random — half through a TCP balancer, half with
the three URLs configured in a shuffled order (``[uplink] endpoints``, tried in turn). One front
end is killed with SIGKILL while a part of the day's uploads is half way in, another is stopped
and started again later. Then, for every site, the collector holds exactly what the site sent
— each message once, in order, its payload equal — and every meter read rebuilt exactly from
the deltas. The default run is bounded (a couple of minutes on a loaded machine); the ``slow``
one sends four times as many parts of days with more printers."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint

from tests.support.fakes import contract_doc
from tests.support.front_ends import (
    FOREVER_DAYS,
    Balancer,
    Fed,
    FrontEnd,
    SiteClock,
    accepted,
    check_site,
    start_front_ends,
    stop_front_ends,
)
from tests.support.ports import free_tcp_port
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
SITES = 50
PART = dt.timedelta(hours=6)


@dataclass
class Site:
    """One simulated appliance: its service, its printers and what it read of their meters."""

    name: str
    service: UplinkService
    devices: list[tuple[str, int]]
    rates: dict[str, tuple[int, int, int]]  # serial -> pages per part: total, black, color
    balanced: bool
    fed: Fed

    def docs(self, part: int, when: dt.datetime) -> list[dict[str, object]]:
        """The part's poll documents: each printer's meters grown at its own rate."""
        out = []
        for device in self.devices:
            doc = contract_doc(device, part, when)
            serial = str(doc["serial"])
            total, black, color = (
                base + rate * part for base, rate in zip((5000, 4000, 1000), self.rates[serial], strict=True)
            )
            doc["meters"] = {"total": total, "black": black, "color": color}
            for meter, value in doc["meters"].items():
                self.fed.setdefault(serial, {}).setdefault(meter, []).append(value)
            out.append(doc)
        return out


def make_sites(
    tmp_path: Path, store: CollectorStore, fronts: list[FrontEnd], balancer: Balancer, certs: Certs,
    clock: SiteClock, printers: int,
) -> list[Site]:  # fmt: skip
    """The sites at the collector (each with its token) and their appliances, not started."""
    rng = random.Random(2150)
    sites = []
    for i in range(SITES):
        name = f"site-{i:02d}"
        token = add_site(store, name, now=T0.replace(tzinfo=None), valid_days=FOREVER_DAYS)
        balanced = i % 2 == 0
        if balanced:
            endpoint = Endpoint(balancer.url, pin=certs.pin, timeout_s=10.0)
        else:
            urls = rng.sample([f.url for f in fronts], len(fronts))
            endpoint = Endpoint(urls[0], pin=certs.pin, timeout_s=10.0, alternates=tuple(urls[1:]))
        box = Outbox(tmp_path / f"{name}.duckdb", Identity.generate(), name)
        box.con.execute("SET threads TO 1")  # 50 appliances in one process: no pool of workers each
        service = UplinkService(
            box, endpoint, now=clock, token=token, backoff=Backoff(0.05, 0.5), idle_s=30.0
        )
        count = rng.randint(1, printers)
        devices = [(f"10.{i}.0.{k}", 161) for k in range(1, count + 1)]  # .9 would be down: <= 8
        rates = {
            f"SER{k:05d}": (rng.randint(1, 500), rng.randint(0, 300), rng.randint(0, 200))
            for k in range(1, count + 1)
        }
        sites.append(Site(name, service, devices, rates, balanced, {}))
    return sites


def acked(sites: list[Site]) -> int:
    return sum(s.service.sender.stats.acked + s.service.sender.stats.duplicates for s in sites)


async def drained(sites: list[Site], timeout_s: float) -> None:
    with trio.fail_after(timeout_s):
        for site in sites:
            while (await site.service.outbox_counts())[0]:
                site.service.wake()
                await trio.sleep(0.1)


async def kill_mid_stream(sites: list[Site], front: FrontEnd, balancer: Balancer, killed: list[int]) -> None:
    """SIGKILL to ``front`` once a tenth of the sites' uploads of this part are in, at a moment
    the balancer has a connection open to it (an upload under way there)."""
    before = acked(sites)
    while acked(sites) - before < len(sites) // 10 or not balancer.open[front.port]:  # noqa: ASYNC110
        await trio.sleep(0.002)
    front.kill()
    killed.append(acked(sites))


async def run_parts(
    sites: list[Site], clock: SiteClock, fronts: list[FrontEnd], balancer: Balancer, parts: int
) -> int:
    """Every site's parts of days, uploaded at once; front end 0 killed (SIGKILL) during the
    second part's uploads or after (:func:`kill_mid_stream`), front end 1 stopped and started
    again at the third part. Returns the uploads in before the kill."""
    killed: list[int] = []
    async with trio.open_nursery() as watch:
        for part in range(1, parts + 1):
            clock.offset = PART * part
            if part == 2:
                watch.start_soon(kill_mid_stream, sites, fronts[0], balancer, killed)
            for site in sites:
                await site.service.observe(site.docs(part, clock()))
                await site.service.upload(clock())
                site.service.wake()
            if part == 3:
                await trio.to_thread.run_sync(fronts[1].restart)
            await drained(sites, 90)
        watch.cancel_scope.cancel()
    assert killed, "front end 0 had no upload under way to be killed in"
    return killed[0]


async def fifty_sites(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str, parts: int, printers: int
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(postgres_url)
    ports = [free_tcp_port() for _ in range(3)]
    fronts = await trio.to_thread.run_sync(
        start_front_ends, ports, certs, postgres_url, tmp_path, 300.0 * parts
    )
    try:
        balancer = Balancer(ports)
        await nursery.start(balancer.serve)
        clock = SiteClock(T0)
        sites = make_sites(tmp_path, store, fronts, balancer, certs, clock, printers)
        async with trio.open_nursery() as appliances:
            for site in sites:
                await appliances.start(site.service.serve)
            killed_at = await run_parts(sites, clock, fronts, balancer, parts)
            appliances.cancel_scope.cancel()
    finally:
        await trio.to_thread.run_sync(stop_front_ends, fronts)
    assert 0 < killed_at < acked(sites)  # killed mid-stream: uploads before and after
    assert fronts[0].proc is not None and fronts[0].proc.returncode == -9 and fronts[1].starts == 2
    assert all(balancer.served[p] for p in ports), balancer.served  # all three took uploads
    messages = 0
    urls_used: set[str] = set()
    for site in sites:
        assert site.service.sender.stats.restarts == 0, site.name  # no stream started again
        messages += check_site(store, site.name, accepted(site.service.outbox), site.fed)
        assert not txlog.verify(site.service.outbox.con), site.name
        if not site.balanced:
            urls_used |= {e.url for e in txlog.entries(site.service.outbox.con) if e.status == 200}
    assert urls_used == {f.url for f in fronts}  # the configured URLs: every front end took some
    failures = sum(s.service.sender.stats.failures for s in sites)
    assert failures, "the kill cut no upload short"
    print(
        f"\n{SITES} sites, {parts} parts: {messages} messages stored once; {failures} failed attempts retried"
    )
    store.close()


async def test_fifty_sites_three_front_ends_one_killed_one_restarted(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str
) -> None:
    await fifty_sites(tmp_path, nursery, postgres_url, parts=4, printers=4)


@pytest.mark.slow
async def test_fifty_sites_for_five_days(tmp_path: Path, nursery: trio.Nursery, postgres_url: str) -> None:
    await fifty_sites(tmp_path, nursery, postgres_url, parts=20, printers=8)

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
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.service import UplinkService
from printwatch.uplink.transport import Endpoint

from tests.support.collector import drained
from tests.support.fakes import contract_doc
from tests.support.front_ends import (
    Balancer,
    Fed,
    FrontEnd,
    SiteClock,
    accepted,
    acked,
    check_site,
    enrolled_appliance,
    record,
    running_front_ends,
    serving,
    upload_docs,
)
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
            out.append(record(self.fed, doc))
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
        balanced = i % 2 == 0
        if balanced:
            endpoint = Endpoint(balancer.url, pin=certs.pin, timeout_s=10.0)
        else:
            urls = rng.sample([f.url for f in fronts], len(fronts))
            endpoint = Endpoint(urls[0], pin=certs.pin, timeout_s=10.0, alternates=tuple(urls[1:]))
        service = enrolled_appliance(store, tmp_path, name, endpoint, clock)
        count = rng.randint(1, printers)
        devices = [(f"10.{i}.0.{k}", 161) for k in range(1, count + 1)]  # .9 would be down: <= 8
        rates = {
            f"SER{k:05d}": (rng.randint(1, 500), rng.randint(0, 300), rng.randint(0, 200))
            for k in range(1, count + 1)
        }
        sites.append(Site(name, service, devices, rates, balanced, {}))
    return sites


def services(sites: list[Site]) -> list[UplinkService]:
    return [site.service for site in sites]


async def kill_mid_stream(sites: list[Site], front: FrontEnd, balancer: Balancer, killed: list[int]) -> None:
    """SIGKILL to ``front`` once a tenth of the sites' uploads of this part are in, at a moment
    the balancer has a request under way to it (its client spoke last: not a kept idle one)."""
    before = acked(services(sites))
    while acked(services(sites)) - before < len(sites) // 10 or not balancer.asking[front.port]:  # noqa: ASYNC110
        await trio.sleep(0.002)
    front.kill()
    killed.append(acked(services(sites)))


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
                await upload_docs(site.service, site.docs(part, clock()), clock)
            if part == 3:
                await trio.to_thread.run_sync(fronts[1].restart)
            await drained(services(sites), 90, step_s=0.1)
        watch.cancel_scope.cancel()
    assert killed, "front end 0 had no upload under way to be killed in"
    return killed[0]


async def fifty_sites(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str, parts: int, printers: int
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(postgres_url)
    async with running_front_ends(3, certs, postgres_url, tmp_path, 300.0 * parts) as fronts:
        ports = [f.port for f in fronts]
        balancer = Balancer(ports)
        await nursery.start(balancer.serve)
        clock = SiteClock(T0)
        sites = make_sites(tmp_path, store, fronts, balancer, certs, clock, printers)
        async with serving(services(sites)):
            killed_at = await run_parts(sites, clock, fronts, balancer, parts)
    assert 0 < killed_at < acked(services(sites))  # killed mid-stream: uploads before and after
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
    # An upload cut short by the kill is a failed attempt (backoff), or, on a kept connection
    # that died before a byte of its answer, sent again at once on a new one (not a failure).
    replaced = sum(s.service.sender.session.replaced for s in sites)
    assert failures + replaced, "the kill cut no upload short"
    print(
        f"\n{SITES} sites, {parts} parts: {messages} messages stored once; {failures} failed attempts "
        f"retried, {replaced} kept connections replaced"
    )
    store.close()


async def test_fifty_sites_three_front_ends_one_killed_one_restarted(
    tmp_path: Path, nursery: trio.Nursery, postgres_url: str
) -> None:
    await fifty_sites(tmp_path, nursery, postgres_url, parts=4, printers=4)


@pytest.mark.slow
async def test_fifty_sites_for_five_days(tmp_path: Path, nursery: trio.Nursery, postgres_url: str) -> None:
    await fifty_sites(tmp_path, nursery, postgres_url, parts=20, printers=8)

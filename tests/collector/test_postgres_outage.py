"""PostgreSQL stopped and started again under two ``collector serve`` front ends while a dozen
appliances upload through the real uplink (both front ends' URLs configured, tried in turn):
the front ends answer 503 with ``Retry-After`` at once, nothing is half stored, the appliances
keep their outboxes and come back no sooner than ``Retry-After`` says (and not much later), and
once the server is back every message is in, once and in order, the meters rebuilt exactly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import trio
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.enrol import enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint, post

from tests.support.collector import drained
from tests.support.fakes import contract_doc
from tests.support.front_ends import (
    FOREVER_DAYS,
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
from tests.support.postgres import PostgresServer
from tests.support.tls import Certs, make_certs

pytestmark = pytest.mark.realtime

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
SITES = 12
PART = dt.timedelta(hours=6)
DEVICES = [(f"10.7.0.{k}", 161) for k in range(1, 4)]
#: What the front ends say while the store is unavailable (collector/handlers/upload.py).
RETRY_AFTER_S = 5.0
#: PostgreSQL stays away this long (two or three rounds of Retry-After).
OUTAGE_S = 12.0
ENVELOPE = "application/vnd.printwatch.envelope"


def docs(part: int, when: dt.datetime, fed: Fed) -> list[dict[str, object]]:
    return [record(fed, contract_doc(device, part, when)) for device in DEVICES]


async def upload_part(
    services: list[UplinkService], feds: list[Fed], clock: SiteClock, part: int, *, advance: bool = True
) -> None:
    """Every appliance's ``part``: polled, then uploaded; the clock moved on to the part's
    time unless ``advance`` is false (a jump while retries wait would stretch their gaps)."""
    if advance:
        clock.offset = PART * part
    for svc, fed in zip(services, feds, strict=True):
        await upload_docs(svc, docs(part, clock(), fed), clock)


async def probe(fronts: list[FrontEnd], certs: Certs, envelope: bytes) -> list[float]:
    """An upload straight to each front end while the store is away: 503 with Retry-After,
    each within the seconds returned."""
    took = []
    for front in fronts:
        started = trio.current_time()
        r = await post(Endpoint(front.url, pin=certs.pin, timeout_s=10.0), "/v1/upload", envelope, ENVELOPE)
        took.append(trio.current_time() - started)
        assert r.status == 503 and r.retry_after_s == RETRY_AFTER_S, r.response_bytes
    return took


async def probe_site(store: CollectorStore, fronts: list[FrontEnd], certs: Certs, tmp_path: Path) -> bytes:
    """A site of the probe's own, enrolled, and the envelope of its first message (not sent)."""
    token = add_site(store, "probe", now=T0.replace(tzinfo=None), valid_days=FOREVER_DAYS)
    box = Outbox(tmp_path / "probe.duckdb", Identity.generate(), "probe")
    await enrol(box, Endpoint(fronts[0].url, pin=certs.pin, timeout_s=10.0), token, now=T0)
    box.enqueue("sync", {"sv": 0}, T0)
    head = box.head()
    assert head is not None
    box.close()
    return head.envelope


def retries_after_503(box: Outbox) -> list[float]:
    """For each attempt answered 503, the seconds until the next attempt at the same message."""
    entries = [e for e in txlog.entries(box.con) if e.seq is not None]
    gaps = []
    for k, entry in enumerate(entries):
        if entry.status == 503:
            later = [e for e in entries[k + 1 :] if e.seq == entry.seq]
            if later:
                gaps.append((later[0].time - entry.time).total_seconds())
    return gaps


async def test_postgres_stopped_and_started_under_two_front_ends_loses_nothing(
    tmp_path: Path, nursery: trio.Nursery, own_postgres: PostgresServer
) -> None:
    with own_postgres.admin() as admin:
        admin.execute("CREATE DATABASE outage")
    url = own_postgres.url("outage")
    certs = make_certs(tmp_path)
    store = CollectorStore(url)
    async with running_front_ends(2, certs, url, tmp_path) as fronts:
        envelope = await probe_site(store, fronts, certs, tmp_path)
        clock = SiteClock(T0)
        services: list[UplinkService] = []
        feds: list[Fed] = []
        for i in range(SITES):
            first, second = (fronts[i % 2], fronts[1 - i % 2])
            endpoint = Endpoint(first.url, pin=certs.pin, timeout_s=8.0, alternates=(second.url,))
            services.append(enrolled_appliance(store, tmp_path, f"site-{i:02d}", endpoint, clock))
            feds.append({})
        async with serving(services):
            await upload_part(services, feds, clock, 1)
            await drained(services, 60, step_s=0.1)
            # The second part's uploads under way when PostgreSQL goes away.
            before = acked(services)
            await upload_part(services, feds, clock, 2)
            with trio.fail_after(30):
                while acked(services) - before < SITES // 3:  # noqa: ASYNC110 (polling counts)
                    await trio.sleep(0.005)
            await trio.to_thread.run_sync(own_postgres.stop)
            stopped_at = acked(services)
            down_since = trio.current_time()
            await upload_part(services, feds, clock, 3, advance=False)  # kept in the outboxes
            took = await probe(fronts, certs, envelope)
            await trio.sleep(max(0.0, OUTAGE_S - (trio.current_time() - down_since)))
            assert acked(services) == stopped_at  # nothing accepted while the store was away
            waiting = sum([(await s.outbox_counts())[0] for s in services])
            assert waiting >= SITES  # every site's third part at least: in its outbox
            await trio.to_thread.run_sync(own_postgres.start)
            back_at = trio.current_time()
            await drained(services, 60, step_s=0.1)
            drained_s = trio.current_time() - back_at
            await upload_part(services, feds, clock, 4)  # and the next day's part as usual
            await drained(services, 60, step_s=0.1)
        assert all(f.proc is not None and f.proc.poll() is None for f in fronts)  # they kept serving
        r = await post(
            Endpoint(fronts[1].url, pin=certs.pin, timeout_s=10.0), "/v1/upload", envelope, ENVELOPE
        )
        assert (r.status, json.loads(r.body).get("ack")) == (200, 1)  # the probe's message, now taken
    assert max(took) < 3.0, took  # 503 at once, not after a timeout
    store.close()  # its connection was cut by the shutdown: the checks read through a new one
    store = CollectorStore(url)
    gaps: list[float] = []
    for i, svc in enumerate(services):
        check_site(store, f"site-{i:02d}", accepted(svc.outbox), feds[i])
        entries = txlog.entries(svc.outbox.con)
        # While it was away: 503s from the front ends, no timeouts (they answered at once).
        assert not [e.error for e in entries if e.error and "timed out" in e.error]
        assert any(e.status == 503 for e in entries), f"site-{i:02d}"
        gaps += retries_after_503(svc.outbox)
    # Retry-After honoured (never sooner, though the backoff alone would be 0.5 s at most), and
    # bounded: the next attempt within Retry-After plus its quarter of jitter and some slack.
    assert gaps and min(gaps) >= RETRY_AFTER_S, sorted(gaps)[:5]
    assert max(gaps) < RETRY_AFTER_S * 1.25 + 10.0, sorted(gaps)[-5:]
    assert drained_s < 30.0
    print(
        f"\n503 within {max(took):.2f} s; retries {min(gaps):.1f} to {max(gaps):.1f} s after a 503 "
        f"({len(gaps)}); all {SITES} outboxes drained {drained_s:.1f} s after the return"
    )
    store.close()

"""Exactly once, in order, across what goes wrong: the appliance killed (-9) in the middle of an
upload, the collector down for a simulated week, the collector restarted mid-stream, an office
proxy (tinyproxy, CONNECT) in between. The collector is real (HTTPS, trustme certificates, the
appliance's key pinned); the readings are checked at the collector, meter by meter."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.server import create_app
from printwatch.collector.store import CollectorStore
from printwatch.uplink import log as txlog
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint

from tests.support.collector import SimNow, drained, start_collector
from tests.support.fakes import contract_doc
from tests.support.ports import free_tcp_port as free_port
from tests.support.tls import Certs, make_certs
from tests.uplink.peers import Tinyproxy

pytestmark = pytest.mark.realtime

REPO = Path(__file__).resolve().parents[2]
DEVICES = [(f"10.9.0.{i}", 161) for i in range(1, 13)]  # 10.9.0.9 never answers
ANSWERING = [d for d in DEVICES if not d[0].endswith(".9")]
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def collector_now() -> dt.datetime:
    """The collector's clock in the tests with the appliance in another process: its 6th day."""
    return (T0 + dt.timedelta(days=6)).replace(tzinfo=None)


def site(tmp_path: Path, collector_store: str | Path) -> tuple[Certs, CollectorStore, str]:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    add_site(store, "site-a", now=T0.replace(tzinfo=None), contact="ops@example")
    # These appliances enrol up to 15 simulated days after T0 (their parts made first).
    token = new_token(store, "site-a", now=T0.replace(tzinfo=None), valid_days=30)
    return certs, store, token


def service(tmp_path: Path, endpoint: Endpoint, token: str, now: Callable[[], dt.datetime]) -> UplinkService:
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    return UplinkService(box, endpoint, now=now, token=token, backoff=Backoff(0.02, 0.2), idle_s=0.05)


def check_exactly_once(store: CollectorStore, parts: int) -> None:
    """Every message once and in order; the meters rebuilt from the deltas are the printers' own."""
    seqs = [r[0] for r in store.con.execute("SELECT seq FROM messages ORDER BY received_at, seq").fetchall()]
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = [r[0] for r in store.con.execute("SELECT kind FROM messages ORDER BY seq").fetchall()]
    assert kinds.count("aggregate") == parts and kinds.count("billing") == 1 and kinds[0] == "register"
    latest = dict(
        store.con.execute(
            "SELECT d.serial, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
            "WHERE meter = 'total'"
        ).fetchall()
    )
    expected = {f"SER{int(h.rsplit('.', 1)[1]):05d}": 1000 + 10 * parts for h, _ in ANSWERING}
    assert latest == expected
    # one aggregate read per device and part, in order, none twice
    per_device = store.con.execute(
        "SELECT n, array_agg(value ORDER BY seq) FROM meter_reads "
        "WHERE source = 'aggregate' AND meter = 'total' GROUP BY n"
    ).fetchall()
    for _, values in per_device:
        assert values == [1000 + 10 * k for k in range(1, parts + 1)]
    billing = store.con.execute("SELECT count(*) FROM meter_reads WHERE source = 'billing'").fetchone()
    assert billing == (3 * len(ANSWERING),)


async def make_parts(svc: UplinkService, now: SimNow, parts: int, every: dt.timedelta) -> None:
    for n in range(1, parts + 1):
        now.offset = every * n
        docs = [contract_doc(d, n, now()) for d in DEVICES]
        await svc.observe(docs)
        await svc.upload(now())
        if n == 1:
            await svc.billing_cycle(now().date(), docs)


async def test_collector_down_for_a_simulated_week_then_back(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs, store, token = site(tmp_path, collector_store)
    port = free_port()
    now = SimNow(T0)
    svc = service(tmp_path, Endpoint(f"https://127.0.0.1:{port}", pin=certs.pin, timeout_s=5), token, now)
    await nursery.start(svc.serve)
    await make_parts(svc, now, 28, dt.timedelta(hours=6))  # a week, 4 aggregates a day, nobody answering
    await trio.sleep(0.5)
    made = (await svc.outbox_counts())[0]
    assert made >= 30 and store.con.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    failures = await svc._db(
        lambda: svc.outbox.con.execute("SELECT count(*) FROM uplink_log WHERE status IS NULL").fetchone()
    )
    assert failures is not None and failures[0] >= 2  # it kept trying (the enrolment first), backing off
    await start_collector(nursery, store, certs, now=now.naive, port=port)
    await drained([svc], 60)
    check_exactly_once(store, 28)
    assert await svc._db(txlog.verify, svc.outbox.con) == []
    nursery.cancel_scope.cancel()


async def test_collector_restarted_mid_stream(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs, store, token = site(tmp_path, collector_store)
    now = SimNow(T0)
    collector = await start_collector(nursery, store, certs, now=now.naive)
    port = collector.port
    svc = service(tmp_path, collector.endpoint(), token, now)
    await make_parts(svc, now, 60, dt.timedelta(hours=6))
    await nursery.start(svc.serve)
    for _ in range(2):  # twice: stop it after a few acks, start it again on the same store
        with trio.fail_after(30):
            start = svc.sender.stats.acked
            while svc.sender.stats.acked < start + 8:  # noqa: ASYNC110 - a counter, polled
                await trio.sleep(0.005)
        await collector.stop()
        await trio.sleep(0.2)
        collector = await start_collector(nursery, store, certs, now=now.naive, port=port)
    await drained([svc], 60)
    check_exactly_once(store, 60)
    nursery.cancel_scope.cancel()


async def test_through_an_office_proxy_with_connect(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs, store, token = site(tmp_path, collector_store)
    now = SimNow(T0)
    collector = await start_collector(nursery, store, certs, now=now.naive)
    proxy = Tinyproxy(tmp_path)
    try:
        svc = service(tmp_path, collector.endpoint(proxy=proxy.url), token, now)
        await make_parts(svc, now, 4, dt.timedelta(hours=6))
        await nursery.start(svc.serve)
        await drained([svc], 60)
        check_exactly_once(store, 4)
        # every connection went through CONNECT, a turn's messages sharing one
        assert len(proxy.connects()) >= svc.sender.session.opened > 0
        assert svc.sender.session.opened < svc.sender.stats.sent
        assert any(f"127.0.0.1:{collector.port}" in line for line in proxy.connects())
    finally:
        proxy.close()
    # The proxy gone: a clear error per attempt, nothing lost, delivered once it is back.
    await svc._db(lambda: svc.outbox.enqueue("sync", {"sv": 1}, T0))
    svc.wake()
    with trio.fail_after(10):
        while "via proxy" not in (svc.sender.stats.last_error or ""):  # noqa: ASYNC110 - polled
            await trio.sleep(0.02)
    assert (await svc.outbox_counts())[0] == 1
    nursery.cancel_scope.cancel()


async def _run_child(args: list[str], started: Callable[[int], Awaitable[None]] | None = None) -> int:
    errors = open(Path(args[0]).with_suffix(".stderr"), "ab")  # noqa: SIM115, ASYNC230 - closed below
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.uplink.appliance_child", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    try:
        if started is not None:
            await started(proc.pid)
        with trio.fail_after(60):
            return await proc.wait()
    finally:
        errors.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


class KillDuringUpload:
    """Wraps the collector's app: once ``at`` uploads were stored, the next answer's sending
    kills the appliance (SIGKILL) first: the collector has the message, the appliance never
    saw its acknowledgement."""

    def __init__(self, app: Any, at: int) -> None:
        self.app, self.at, self.pid, self.killed = app, at, 0, False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_and_maybe_kill(message: Any) -> None:
            if (
                message["type"] == "http.response.start"
                and not self.killed
                and self.pid
                and self.app.state.stats["accepted"] >= self.at
            ):
                os.kill(self.pid, signal.SIGKILL)
                self.killed = True
            await send(message)

        await self.app(scope, receive, send_and_maybe_kill)


async def test_appliance_killed_during_an_upload(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs, store, token = site(tmp_path, collector_store)
    wrapper = KillDuringUpload(create_app(store, now=collector_now), at=6)
    collector = await start_collector(nursery, store, certs, now=collector_now, app=wrapper)
    args = [
        str(tmp_path / "a.duckdb"),
        str(tmp_path / "a.key"),
        collector.url,
        certs.pin,
        "site-a",
        token,
        "20",
    ]

    async def remember(pid: int) -> None:
        wrapper.pid = pid

    assert await _run_child(args, remember) == -signal.SIGKILL
    assert wrapper.killed
    stored = store.con.execute("SELECT max(seq) FROM messages").fetchone()
    assert stored == (6,)  # message 6 is at the collector, still in the killed appliance's outbox
    assert (
        await _run_child(args) == 0
    )  # started again: resends 6 (a duplicate, taken as acked), then the rest
    check_exactly_once(store, 20)
    box = Outbox(tmp_path / "a.duckdb", Identity.load_or_create(tmp_path / "a.key"), "site-a")
    assert box.pending()[0] == 0 and txlog.verify(box.con) == []
    statuses = [
        r[0] for r in box.con.execute("SELECT status FROM uplink_log WHERE seq = 6 ORDER BY n").fetchall()
    ]
    assert statuses == [409]  # the first send's row died with the process; the resend was the duplicate
    box.close()
    await collector.stop()

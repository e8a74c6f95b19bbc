"""The appliance (scheduler + poller + sink + uplink hooks + metrics) on Trio's MockClock with a
pure-Python poller: what each job polls and writes, shutdown in the middle of a write, assist."""

from __future__ import annotations

import datetime as dt
import gc
import re
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
import trio
import trio.testing
from printwatch.config.model import Config, Intervals
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock, TrioWallClock
from printwatch.service.appliance import Appliance, PendingUplink
from printwatch.service.metrics import render_metrics
from printwatch.service.sinks import MemorySink
from printwatch.web.app import health_of

from tests.support.fakes import FakePoller

NOV1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DEVICES = tuple(expand_devices("10.9.0.1-10.9.0.20"))


def make(
    *, cycle_s: float = 2.0, sink: Any = None, intervals: Intervals | None = None
) -> tuple[Appliance, FakePoller, Any]:
    poller = FakePoller(cycle_s)
    sink = sink or MemorySink()
    config = Config(devices=DEVICES, intervals=intervals or Intervals())
    app = Appliance(
        config, poller=poller, sink=sink, state=MemoryState(), clock=TrioWallClock(NOV1), seed="t"
    )
    return app, poller, sink


async def test_a_day_of_cycles_polls_every_device_and_writes_each_cycle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    intervals = Intervals(upload_times=(dt.time(2, 30), dt.time(14, 30)), billing_day=2)
    app, poller, sink = make(intervals=intervals)
    with trio.move_on_after(86400 + 3600):  # to Nov 2, 01:00
        await app.serve()
    kinds = [k for k, _, _ in poller.calls]
    assert kinds.count("status") == 288 + 12  # every 5 minutes, Nov 1 00:00 to Nov 2 00:55
    assert kinds.count("meters") == 12 + 1 + 1  # every 2 hours, and the billing cycle's read
    assert all(n == 20 for _, n, _ in poller.calls)
    assert len(sink.batches) == len(poller.calls)
    assert all(len(b) == 20 for b in sink.batches)
    uplink = app.uplink
    assert isinstance(uplink, PendingUplink)
    assert [s.strftime("%d %H:%M") for s in uplink.uploads] == ["01 02:30", "01 14:30"]
    assert [s.strftime("%d %H:%M") for s in uplink.cycles] == ["02 00:00"]
    # Each document is stamped with the wall time of its poll (here, the simulated clock's).
    status_times = sorted({b[0]["time"] for b in sink.batches})
    assert status_times[0] == "2026-11-01T00:00:00Z"
    assert len(app.fleet) == 20
    assert poller.max_running <= 2  # status and meters may overlap; a job never overlaps itself
    assert app.scheduler.stats["status"].skipped == 0
    assert sink.published == 13 and sink.upkeeps == 2  # a snapshot per meter read; upkeep at 00:20 daily


async def test_metrics_render_the_appliance_and_the_fleet(autojump_clock: trio.testing.MockClock) -> None:
    app, _, _ = make()
    with trio.move_on_after(700):
        await app.serve()
    text = render_metrics(app)
    assert text.endswith("\n")
    lines = text.splitlines()
    # Every sample line parses as Prometheus text: name{labels} value, and each name is prefixed.
    sample = re.compile(
        r'^(printwatch_[a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? '
        r"(-?[0-9.]+(e[+-]?[0-9]+)?|NaN)$"
    )
    for line in lines:
        assert line.startswith("# ") or sample.match(line), line
    assert 'printwatch_job_runs_total{job="status"} 3' in lines  # 00:00, 00:05, 00:10
    assert 'printwatch_job_skipped_total{job="status"} 0' in lines
    assert any(re.match(r'printwatch_job_budget_used_ratio\{job="status"\} 0\.00666', line) for line in lines)
    assert "printwatch_devices 20" in lines
    [rss] = [line for line in lines if line.startswith("printwatch_resident_memory_bytes ")]
    assert 10e6 < float(rss.split()[1]) < 10e9  # this test process: tens to hundreds of MB
    assert 'printwatch_device_up{target="10.9.0.9:161"} 0' in lines
    assert 'printwatch_device_up{target="10.9.0.1:161",serial="SER00001"} 1' in lines
    up = [line for line in lines if line.startswith("printwatch_device_up{")]
    assert len(up) == 20 and sum(line.endswith(" 1") for line in up) == 18
    assert (
        'printwatch_supply_percent{target="10.9.0.1:161",index="1",description="Black \\"Toner\\"",'
        'type="toner",color="black"} 86.0'
    ) in lines
    # a level of "some remaining" (-3) has no percent: no sample rather than a made-up one
    assert not any('description="Waste"' in line for line in lines)
    assert 'printwatch_pages_total{target="10.9.0.1:161",meter="total"} 1040' in lines
    assert 'printwatch_device_state{target="10.9.0.1:161",state="running"} 1' in lines
    assert not any(
        line.startswith('printwatch_device_state{target="10.9.0.1:161",state="down"}') for line in lines
    )
    assert "# TYPE printwatch_pages_total counter" in lines


class SlowSink(MemorySink):
    """A write that takes 30 s of Trio time."""

    def __init__(self) -> None:
        super().__init__()
        self.writes_started = 0
        self.writes_done = 0
        self.closed_after_writes = -1

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        self.writes_started += 1
        await trio.sleep(30)
        await super().ingest(docs)
        self.writes_done += 1

    async def close(self) -> None:
        self.closed_after_writes = self.writes_done
        await super().close()


async def test_stopping_during_a_write_finishes_the_write_then_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = SlowSink()
    app, _, _ = make(sink=sink)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.serve)
        await trio.sleep(2.0 + 10)  # the first status and meters polls took 2 s; their writes are in hand
        assert sink.writes_started == 2 and sink.writes_done == 0
        t0 = trio.current_time()
        nursery.cancel_scope.cancel()
    await app.aclose()
    assert trio.current_time() - t0 == pytest.approx(20)  # the rest of the 30 s writes
    assert sink.writes_done == 2 and sink.closed_after_writes == 2 and sink.closed
    assert len(app.fleet) == 20  # what was written is also what the fleet view shows


async def test_a_poll_in_flight_is_cancelled_at_stop_and_nothing_half_written(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, _, sink = make(cycle_s=100)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.serve)
        await trio.sleep(50)
        nursery.cancel_scope.cancel()
    await app.aclose()
    assert sink.batches == [] and sink.closed
    assert app.scheduler.stats["status"].runs == 0


async def test_assist_polls_one_device_at_once_while_a_cycle_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, _, sink = make(cycle_s=120)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.serve)
        await trio.sleep(1)
        t0 = trio.current_time()
        doc = await app.assist("10.9.0.3")
        assert trio.current_time() - t0 == pytest.approx(0.1)  # not after the 120 s cycle
        assert doc["target"] == "10.9.0.3:161" and doc["reachable"]
        uplink = app.uplink
        assert isinstance(uplink, PendingUplink) and uplink.snapshots == ["10.9.0.3:161"]
        assert sink.batches[-1] == [doc]
        # by serial and sysName too, once the device has been polled
        assert (await app.assist("SER00003"))["target"] == "10.9.0.3:161"
        assert (await app.assist("mfp-3"))["target"] == "10.9.0.3:161"
        with pytest.raises(LookupError, match=r"'10\.9\.9\.9': no such device"):
            await app.assist("10.9.9.9")
        nursery.cancel_scope.cancel()


async def test_health_turns_degraded_when_status_polls_stop_completing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, poller, _ = make(intervals=replace(Intervals(), status_s=60))
    async with trio.open_nursery() as nursery:
        await nursery.start(app.serve)
        await trio.sleep(5)
        body, code = health_of(app)
        assert code == 200 and body["status"] == "ok" and body["devices"] == 20
        poller.cycle_s = 10_000  # the next cycles hang
        await trio.sleep(600)
        body, code = health_of(app)
        assert code == 503 and body["status"] == "degraded"
        nursery.cancel_scope.cancel()


async def test_devices_are_made_again_when_a_source_changes_and_never_shared() -> None:
    """devices() is kept between calls (/health and /metrics ask on every request); a change of
    the configured devices, the discovered ones or the history's addresses shows at once, and
    each caller gets a list of its own."""

    class KnownSink(MemorySink):
        def __init__(self) -> None:
            super().__init__()
            self.known: list[str] = ["10.9.0.1", "10.8.0.7"]

        def known_addresses(self) -> list[str]:
            return list(self.known)

    sink = KnownSink()
    app, _, _ = make(sink=sink)
    first = app.devices()
    assert first[-1] == ("10.8.0.7", 161) and len(first) == 21  # 10.9.0.1 is configured already
    first.clear()
    assert len(app.devices()) == 21
    sink.known[1] = "10.8.0.8"  # a move: as many addresses, not the same ones
    assert app.devices()[-1] == ("10.8.0.8", 161)
    app.discovered.append(("10.7.0.1", 161))  # changed in place
    assert ("10.7.0.1", 161) in app.devices() and len(app.devices()) == 22
    app.discovered = [("10.8.0.8", 161)]  # discovered and known: once
    assert app.devices().count(("10.8.0.8", 161)) == 1 and len(app.devices()) == 21
    app.config = replace(app.config, devices=DEVICES[:5])
    assert len(app.devices()) == 6


async def test_health_counts_the_devices_answering_in_their_latest_poll(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/health's ``answering`` is kept as the fleet view changes, not counted on each request:
    it must be what counting the fleet view gives, through devices going down and coming back."""
    app, poller, _ = make()
    down: set[str] = set()
    poll = poller.poll

    async def flaky(devices: Sequence[Any], kind: Any, when: dt.datetime) -> list[dict[str, Any]]:
        docs = await poll(devices, kind, when)
        for d in docs:
            d["reachable"] = d["target"] not in down
        return docs

    monkeypatch.setattr(poller, "poll", flaky)
    devices = app.devices()
    for now_down, polled in [
        (set(), devices),
        ({"10.9.0.1:161", "10.9.0.2:161"}, devices),
        ({"10.9.0.2:161", "10.9.0.3:161"}, devices),
        (set(), devices[:2]),  # 10.9.0.1-2 back; 10.9.0.3 not polled: still down
        ({"10.9.0.4:161"}, devices[3:4]),
    ]:
        down = now_down
        await app._poll_and_write("status", polled)
        body, _ = health_of(app)
        assert body["answering"] == sum(1 for d in app.fleet.values() if d.get("reachable"))
    assert body["answering"] == 18


class Probe:
    """A value in a document that tells when the document is gone (dicts take no weakref)."""


class FailingUplink(PendingUplink):
    async def observe(self, docs: Sequence[dict[str, Any]]) -> None:
        raise RuntimeError("the uplink's tally failed")


async def test_a_failing_after_write_step_keeps_no_document_alive() -> None:
    """The error of the uplink's tally (or the alerts) is raised without a reference cycle
    through the cycle's documents: once it is handled they go, with the garbage collector off."""
    app = Appliance(
        Config(devices=()), poller=FakePoller(), sink=MemorySink(), state=MemoryState(),
        clock=SystemClock(), uplink=FailingUplink(), seed="t",
    )  # fmt: skip
    probe = Probe()
    ref = weakref.ref(probe)
    docs: list[dict[str, Any]] = [{"target": "10.0.0.1:161", "reachable": False, "probe": probe}]
    del probe
    gc.disable()
    try:
        with pytest.raises(RuntimeError, match="tally failed"):
            await app._after_write(docs)
        del docs
        assert ref() is None
    finally:
        gc.enable()

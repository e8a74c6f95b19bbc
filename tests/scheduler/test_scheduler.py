"""The scheduler on Trio's MockClock (autojump): a simulated month in seconds, jitter, overrun
skipping, catch-up after downtime, shutdown mid-run."""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
import trio.testing
from printwatch.config.model import Intervals
from printwatch.scheduler.clock import TrioWallClock
from printwatch.scheduler.jobs import appliance_jobs
from printwatch.scheduler.runner import Job, RunContext, Scheduler
from printwatch.scheduler.schedules import BillingCycle, DailyAt, Every, FollowedBillingCycle, FollowedDailyAt
from printwatch.scheduler.state import MemoryState, StateFile

UTC = dt.UTC
NOV1 = dt.datetime(2026, 11, 1, tzinfo=UTC)


class Recorder:
    """Job bodies that record (job, slot, reason, wall start) and take ``duration_s`` of Trio time."""

    def __init__(self, clock_box: list[TrioWallClock], durations_s: dict[str, float] | None = None) -> None:
        self.clock_box = clock_box
        self.durations_s = durations_s or {}
        self.runs: list[tuple[str, dt.datetime, str, dt.datetime]] = []
        self.running: Counter[str] = Counter()
        self.max_running: Counter[str] = Counter()
        self.start = NOV1  # the wall time its run begins at (see run_for)

    def body(self, name: str) -> Callable[[RunContext], Awaitable[None]]:
        async def run(ctx: RunContext) -> None:
            self.runs.append((name, ctx.slot, ctx.reason, self.clock_box[0].now()))
            self.running[name] += 1
            self.max_running[name] = max(self.max_running[name], self.running[name])
            try:
                await trio.sleep(self.durations_s.get(name, 1.0))
            finally:
                self.running[name] -= 1

        return run

    def of(self, name: str) -> list[tuple[str, dt.datetime, str, dt.datetime]]:
        return [r for r in self.runs if r[0] == name]


class Hooks:
    def __init__(self, rec: Recorder) -> None:
        self.poll_status = rec.body("status")
        self.read_meters = rec.body("meters")
        self.upload = rec.body("upload")
        self.close_billing_cycle = rec.body("billing")
        self.discover = rec.body("discovery")
        self.upkeep = rec.body("upkeep")


async def run_for(
    seconds: float, jobs_of: Callable[[Recorder], list[Job]], state: MemoryState | StateFile, rec: Recorder
) -> Scheduler:
    clock = TrioWallClock(rec_start(rec))
    rec.clock_box.append(clock)
    scheduler = Scheduler(jobs_of(rec), clock=clock, state=state, seed="site-1")
    with trio.move_on_after(seconds):
        await scheduler.serve()
    return scheduler


def rec_start(rec: Recorder) -> dt.datetime:
    # An attribute, not a table keyed by id(): a later test's recorder could get the id of an
    # earlier, freed one and start at its date (it made the downtime test fail now and then).
    return rec.start


async def test_a_simulated_month_runs_every_job_exactly_as_often_as_due(
    autojump_clock: trio.testing.MockClock,
) -> None:
    intervals = Intervals(
        status_s=300,
        meters_s=7200,
        upload_times=(dt.time(2, 30), dt.time(14, 30)),
        billing_cycle="monthly",
        billing_day=1,
        discovery_s=7 * 86400,
        jitter=0.1,
    )
    rec = Recorder([])
    # 30.5 days: November 1, 00:00 to December 1, 12:00 (UTC).
    scheduler = await run_for(30.5 * 86400, lambda r: appliance_jobs(intervals, Hooks(r)), MemoryState(), rec)
    end = NOV1 + dt.timedelta(days=30.5)
    # Counted from the calendar, not from the scheduler's code:
    assert len(rec.of("status")) == 30 * 288 + 144  # every 5 minutes, the first at 00:00
    assert len(rec.of("meters")) == 30 * 12 + 6  # every 2 hours
    assert len(rec.of("upload")) == 30 * 2 + 1  # 02:30 and 14:30 each day, and Dec 1 02:30
    assert [r[1] for r in rec.of("billing")] == [dt.datetime(2026, 12, 1, tzinfo=UTC)]
    # weekly slots are epoch-aligned (Thursdays 00:00): the first start runs Oct 29's slot
    assert [r[1].day for r in rec.of("discovery")] == [29, 5, 12, 19, 26]
    assert len(rec.of("upkeep")) == 31  # 00:20 each day, November 1 to December 1
    for name in ("status", "meters", "upload", "billing", "discovery", "upkeep"):
        runs = rec.of(name)
        slots = [r[1] for r in runs]
        assert len(set(slots)) == len(slots), f"{name}: a slot ran twice"
        assert rec.max_running[name] == 1, f"{name}: runs stacked"
        assert scheduler.stats[name].skipped == 0
        assert scheduler.stats[name].runs == len(runs)
        assert all(r[3] < end for r in runs)
    # Every run started in [slot, slot + 10% of the interval), and the start times are spread.
    status = rec.of("status")
    delays = [(started - slot).total_seconds() for _, slot, reason, started in status if reason == "schedule"]
    assert all(0 <= d < 30 for d in delays)
    assert len({round(d) for d in delays}) >= 25, "jitter spreads the starts over the 30 s"
    assert {r[1].strftime("%H:%M") for r in rec.of("upload")} == {"02:30", "14:30"}
    upload_delays = [(r[3] - r[1]).total_seconds() for r in rec.of("upload")]
    assert all(0 <= d < 180 for d in upload_delays) and len(set(upload_delays)) > 10
    assert status[0][2] == "first-start" and status[0][1] == NOV1


@pytest.mark.parametrize(
    ("kind", "expected_months"),
    [("monthly", list(range(1, 13))), ("quarterly", [1, 4, 7, 10]), ("semiannual", [1, 7])],
)
async def test_billing_cycles_over_a_year(
    autojump_clock: trio.testing.MockClock, kind: str, expected_months: list[int]
) -> None:
    rec = Recorder([])
    rec.start = dt.datetime(2026, 12, 20, tzinfo=UTC)
    job = lambda r: [Job("billing", BillingCycle(kind, 15, "Europe/Paris"), r.body("billing"), False)]  # type: ignore[arg-type]  # noqa: E731
    await run_for(365 * 86400, job, MemoryState(), rec)
    slots = [r[1] for r in rec.of("billing")]
    assert [s.month for s in slots] == expected_months
    # the 15th at midnight, Paris time (23:00 or 22:00 UTC the day before)
    assert {s.astimezone(zoneinfo.ZoneInfo("Europe/Paris")).strftime("%d %H:%M") for s in slots} == {
        "15 00:00"
    }


async def test_an_overrunning_run_skips_the_next_slot_and_never_stacks(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="printwatch.scheduler.runner")
    rec = Recorder([], durations_s={"status": 450.0})  # 1.5 intervals
    jobs = lambda r: [Job("status", Every(300), r.body("status"))]  # noqa: E731
    scheduler = await run_for(3500, jobs, MemoryState(), rec)
    slots = [r[1] for r in rec.of("status")]
    # Runs at 00:00 (until 07:30), 10:00 (slot 05:00 skipped), 20:00, ... : every other slot.
    assert [(s - NOV1).total_seconds() / 60 for s in slots] == [0, 10, 20, 30, 40, 50]
    assert rec.max_running["status"] == 1
    stats = scheduler.stats["status"]
    assert stats.skipped == 6 and stats.overruns == 6
    assert stats.last_budget_used == pytest.approx(1.5)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("over its budget of 300.0 s" in m for m in messages) == 6
    assert sum("skipped, not stacked" in m for m in messages) == 6


async def test_a_run_much_longer_than_the_interval_skips_every_slot_it_covers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rec = Recorder([], durations_s={"status": 1000.0})
    scheduler = await run_for(
        1200, lambda r: [Job("status", Every(300), r.body("status"))], MemoryState(), rec
    )
    assert [r[1] for r in rec.of("status")] == [NOV1]
    assert scheduler.stats["status"].skipped == 3  # 05:00, 10:00, 15:00


async def test_after_downtime_each_due_job_runs_once_not_once_per_missed_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    intervals = Intervals(status_s=300, meters_s=7200, upload_times=(dt.time(2, 30),), jitter=0.1)
    # What StateFile keeps on disk across restarts (its file is tested below, on the real clock:
    # autojump would jump the clock while its worker thread writes).
    state = MemoryState()
    # First life: Nov 1 00:00 to 06:00.
    rec = Recorder([])
    await run_for(6 * 3600, lambda r: appliance_jobs(intervals, Hooks(r)), state, rec)
    assert len(rec.of("status")) == 72 and len(rec.of("upload")) == 1
    # Powered off for three days; second life starts Nov 4 09:07.
    rec2 = Recorder([])
    rec2.start = NOV1 + dt.timedelta(days=3, hours=9, minutes=7)
    await run_for(60, lambda r: appliance_jobs(intervals, Hooks(r)), state, rec2)
    reasons = {(r[0], r[2]) for r in rec2.runs}
    # Nov 2, 3 and 4 02:30 were missed: one upload, not three; 36 status slots: one poll.
    assert reasons == {
        ("status", "catch-up"),
        ("meters", "catch-up"),
        ("upload", "catch-up"),
        ("upkeep", "catch-up"),
    }
    assert Counter(r[0] for r in rec2.runs) == {"status": 1, "meters": 1, "upload": 1, "upkeep": 1}
    catch_up = {r[0]: r[1] for r in rec2.runs}
    assert catch_up["status"] == rec2.start.replace(minute=5)
    assert catch_up["meters"] == rec2.start.replace(hour=8, minute=0)
    assert catch_up["upload"] == dt.datetime(2026, 11, 4, 2, 30, tzinfo=UTC)
    # Discovery (weekly) was not due again; billing (monthly, from Dec 1) neither.
    # Third life, right after: nothing is due again (the catch-up runs were remembered).
    rec3 = Recorder([])
    rec3.start = rec2.start + dt.timedelta(seconds=90)
    await run_for(60, lambda r: appliance_jobs(intervals, Hooks(r)), state, rec3)
    assert rec3.runs == []


async def test_a_run_cut_short_at_shutdown_runs_again_on_the_next_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state = MemoryState()
    rec = Recorder([], durations_s={"status": 100.0})
    await run_for(350, lambda r: [Job("status", Every(300), r.body("status"))], state, rec)
    # The 00:05 run started (at 00:05 + jitter 0) and was cancelled at 00:05:50.
    assert [r[1] for r in rec.of("status")] == [NOV1, NOV1 + dt.timedelta(seconds=300)]
    assert state.last_slot("status") == NOV1
    rec2 = Recorder([])
    rec2.start = NOV1 + dt.timedelta(seconds=400)
    await run_for(10, lambda r: [Job("status", Every(300), r.body("status"))], state, rec2)
    assert [(r[1], r[2]) for r in rec2.runs] == [(NOV1 + dt.timedelta(seconds=300), "catch-up")]


async def test_a_failing_run_is_logged_and_the_schedule_goes_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[dt.datetime] = []

    async def flaky(ctx: RunContext) -> None:
        calls.append(ctx.slot)
        if len(calls) == 2:
            raise RuntimeError("printer table exploded")

    clock = TrioWallClock(NOV1)
    scheduler = Scheduler([Job("status", Every(60), flaky)], clock=clock, state=MemoryState())
    with trio.move_on_after(250):
        await scheduler.serve()
    assert len(calls) == 5 and scheduler.stats["status"].failures == 1
    assert any(r.exc_info and "printer table exploded" in str(r.exc_info[1]) for r in caplog.records)


def test_schedules_reject_bad_settings() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Every(0)
    with pytest.raises(ValueError, match="jitter_s"):
        Every(60, jitter_s=60)
    with pytest.raises(ValueError, match="1 to 4"):
        DailyAt([dt.time(h) for h in range(5)])
    with pytest.raises(ValueError, match="billing day"):
        BillingCycle("monthly", 31)


def test_daily_slots_follow_the_local_time_zone_across_dst() -> None:
    sched = DailyAt([dt.time(2, 30)], "America/New_York")
    slot = sched.latest_at_or_before(dt.datetime(2026, 3, 7, 12, tzinfo=UTC))
    assert slot == dt.datetime(2026, 3, 7, 7, 30, tzinfo=UTC)  # EST
    nxt = sched.next_after(slot)  # 2026-03-08 02:30 does not exist in New York (spring forward)
    assert nxt.astimezone(sched._zone).date() == dt.date(2026, 3, 8)
    assert sched.next_after(nxt) == dt.datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # EDT


async def test_followed_schedules_change_only_on_a_new_value_and_wake_a_waiter() -> None:
    daily = FollowedDailyAt([dt.time(14), dt.time(2, 30)], "Europe/Paris", jitter=0.5)
    cycle = FollowedBillingCycle(BillingCycle("monthly", 1, "Pacific/Kiritimati", 600.0))
    assert not daily.follow([dt.time(2, 30), dt.time(14)], "Europe/Paris")  # same times, other order
    assert not cycle.follow("monthly", 1)
    woken: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_record_wake, daily.wait_changed, woken, "daily")
        nursery.start_soon(_record_wake, cycle.wait_changed, woken, "cycle")
        await trio.testing.wait_all_tasks_blocked()
        assert daily.follow([dt.time(1)], "Europe/Paris")
        assert cycle.follow("quarterly", 5)
    assert sorted(woken) == ["cycle", "daily"]
    assert list(daily.times) == [dt.time(1)] and daily.jitter_s == 900.0  # half an hour at 0.5
    assert daily.next_after(dt.datetime(2026, 10, 31, 12, tzinfo=UTC)) == NOV1  # 01:00 in Paris (CET)
    assert cycle.current == BillingCycle("quarterly", 5, "Pacific/Kiritimati", 600.0)
    with pytest.raises(ValueError, match="billing day"):
        cycle.follow("monthly", 29)
    assert cycle.current.day == 5  # a refused value changes nothing
    assert daily.follow_configured() and list(daily.times) == [dt.time(2, 30), dt.time(14)]
    assert cycle.follow_configured() and cycle.current == cycle.configured
    assert not daily.follow_configured() and not cycle.follow_configured()


async def _record_wake(wait: Callable[[], Awaitable[None]], woken: list[str], name: str) -> None:
    await wait()
    woken.append(name)


async def test_the_state_file_survives_a_restart_and_a_corrupt_one_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state" / "scheduler.json"
    first = StateFile(path)
    assert first.last_slot("status") is None
    await first.save("status", NOV1)
    await first.save("upload", NOV1 + dt.timedelta(hours=2))
    assert StateFile(path).last_slot("upload") == NOV1 + dt.timedelta(hours=2)
    assert sorted(p.name for p in path.parent.iterdir()) == ["scheduler.json"]  # no temporary left
    path.write_text('{"status": "yesterday"}')
    again = StateFile(path)
    assert again.last_slot("status") is None
    assert path.with_suffix(".json.corrupt").exists()
    assert "unreadable scheduler state" in caplog.text


async def test_a_late_start_within_budget_runs_the_next_slot_at_once_not_skipped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rec = Recorder([], durations_s={"status": 10.0})
    rec.start = NOV1 + dt.timedelta(seconds=295)  # first start at 00:04:55
    scheduler = await run_for(
        400, lambda r: [Job("status", Every(300), r.body("status"))], MemoryState(), rec
    )
    runs = [(r[1], r[2], r[3]) for r in rec.of("status")]
    # 00:00 runs at 04:55 until 05:05; 05:00 came due meanwhile: it runs at 05:05, then 10:00.
    assert [(slot.minute, reason, started.strftime("%M:%S")) for slot, reason, started in runs] == [
        (0, "first-start", "04:55"),
        (5, "schedule", "05:05"),
        (10, "schedule", "10:00"),
    ]
    assert scheduler.stats["status"].skipped == 0 and scheduler.stats["status"].overruns == 0


async def test_a_run_records_the_cpu_it_cost(autojump_clock: trio.testing.MockClock) -> None:
    """``last_cpu_s`` (``/metrics``: job_last_cpu_seconds) is the process's CPU during the run."""

    async def busy(ctx: RunContext) -> None:
        spin_until = time.process_time() + (0.05 if ctx.slot.minute % 2 else 0.0)
        while time.process_time() < spin_until:
            pass
        await trio.sleep(1)

    scheduler = Scheduler([Job("status", Every(60), busy)], clock=TrioWallClock(NOV1), state=MemoryState())
    seen: list[float | None] = []
    with trio.move_on_after(250):
        async with trio.open_nursery() as nursery:
            await nursery.start(scheduler.serve)
            for _ in range(4):
                await trio.sleep(60)
                seen.append(scheduler.stats["status"].last_cpu_s)
    costly = [s for s in seen if s is not None and s >= 0.05]
    cheap = [s for s in seen if s is not None and s < 0.02]
    assert costly and cheap, seen

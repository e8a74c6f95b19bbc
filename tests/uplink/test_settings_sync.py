"""Per-site settings pushed through sync: the collector assigns spread upload slots (or support
sets them), the appliance checks every value, applies what the customer did not lock, follows
new upload times from its next sync and reports what it applied.

The end-to-end scenario runs the real uplink against the real collector (HTTPS, pinned), each
side on its own injected clock; the scheduler's part runs on Trio's autojump clock."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import zoneinfo
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from printwatch.collector import settings
from printwatch.collector.enrolment import add_site
from printwatch.collector.store import CollectorStore
from printwatch.config.load import ConfigError, parse_config
from printwatch.config.model import Config, Intervals
from printwatch.config.targets import expand_devices
from printwatch.scheduler.clock import TrioWallClock
from printwatch.scheduler.runner import Job, RunContext, Scheduler
from printwatch.scheduler.schedules import BillingCycle, FollowedBillingCycle, FollowedDailyAt
from printwatch.scheduler.state import MemoryState
from printwatch.service.appliance import Appliance
from printwatch.service.sinks import MemorySink
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.remote import read_settings, report
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity, open_envelope
from printwatch.uplink.transport import Endpoint

from tests.support.collector import drained, start_collector
from tests.support.fakes import FakePoller, contract_doc
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 11, 30, 0, 0)
NOWHERE = Endpoint("https://127.0.0.1:9")  # never used: nothing is sent in the unit tests
DEVICES = [("10.8.0.1", 161), ("10.8.0.2", 161)]


def hms(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# -- the collector's slots -----------------------------------------------------------------------


def test_assigned_slots_spread_10000_sites_over_the_day_and_stay_put() -> None:
    sites = [f"site-{i:05d}" for i in range(10_000)]
    slots = {s: settings.assigned_slots(s) for s in sites}
    assert slots == {s: settings.assigned_slots(s) for s in sites}  # the same at every sync
    per_minute = Counter(hms(t).hour * 60 + hms(t).minute for [t] in slots.values())
    # 10,000 over 1,440 minutes is about 7 a minute; no minute gets a crowd, every hour some.
    assert max(per_minute.values()) <= 25, per_minute.most_common(3)
    assert len({m // 60 for m in per_minute}) == 24
    four = settings.assigned_slots("site-00042", 4)
    seconds = [hms(t).hour * 3600 + hms(t).minute * 60 + hms(t).second for t in four]
    assert [b - a for a, b in itertools.pairwise(seconds)] == [21600] * 3


def test_support_times_win_over_assigned_ones_and_bad_ones_are_refused(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    add_site(store, "site-a", now=T0)
    assert settings.get(store.con, "site-a")["upload_times_assigned"] is True
    version = settings.put(store, "site-a", {"upload_times": ["16:00", "04:00"]}, by="sam", now=T0)
    got = settings.get(store.con, "site-a")
    assert (got["version"], got["upload_times"], got["upload_times_assigned"]) == (
        version,
        ["04:00:00", "16:00:00"],
        False,
    )
    for bad in (["25:00"], [], ["01:00"] * 5, ["01:00", "01:00"], "01:00", [1]):
        with pytest.raises(settings.SettingsError, match="upload_times"):
            settings.put(store, "site-a", {"upload_times": bad}, by="sam", now=T0)
    assert settings.get(store.con, "site-a")["version"] == version  # nothing written
    settings.put(store, "site-a", {"upload_times": None, "uploads_per_day": 2}, by="sam", now=T0)
    got = settings.get(store.con, "site-a")
    assert got["upload_times"] == settings.assigned_slots("site-a", 2) and got["upload_times_assigned"]
    store.close()


# -- the appliance's checks ------------------------------------------------------------------------

GOOD = {
    "sv": 7,
    "billing": {"cycle": "quarterly", "day": 10, "current": "2026-10-10", "due": []},
    "services": {"aggregates": True, "billing": True, "reorders": False, "assist": False},
    "settings": {
        "upload_times": ["04:00:00", "16:00:00"],
        "upload_timezone": "UTC",
        "upload_times_assigned": False,
        "budget_bytes_per_day": 50_000,
        "thresholds": {"reorder_percent": 12.5, "lead_time_days": 3},
    },
}

HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("time out of range", {"settings": {"upload_times": ["24:00"]}}, "upload_times"),
    ("time of another type", {"settings": {"upload_times": [930]}}, "upload_times"),
    (
        "five times",
        {"settings": {"upload_times": ["01:00", "02:00", "03:00", "04:00", "05:00"]}},
        "upload_times",
    ),
    ("a million times", {"settings": {"upload_times": ["01:00"] * 1_000_000}}, "upload_times"),
    ("a huge time string", {"settings": {"upload_times": ["0" * 10_000_000]}}, "upload_times"),
    ("the same time twice", {"settings": {"upload_times": ["01:00", "01:00:00"]}}, "upload_times"),
    (
        "another time zone",
        {"settings": {"upload_times": ["01:00"], "upload_timezone": "../etc"}},
        "upload_times",
    ),
    ("a negative budget", {"settings": {"budget_bytes_per_day": -1}}, "budget_bytes_per_day"),
    ("a budget as text", {"settings": {"budget_bytes_per_day": "50000"}}, "budget_bytes_per_day"),
    ("a budget of 2**80", {"settings": {"budget_bytes_per_day": 2**80}}, "budget_bytes_per_day"),
    ("a bool budget", {"settings": {"budget_bytes_per_day": True}}, "budget_bytes_per_day"),
    (
        "NaN threshold",
        {"settings": {"thresholds": {"reorder_percent": float("nan")}}},
        "thresholds.reorder_percent",
    ),
    (
        "infinite lead",
        {"settings": {"thresholds": {"lead_time_days": float("inf")}}},
        "thresholds.lead_time_days",
    ),
    (
        "threshold above 100",
        {"settings": {"thresholds": {"reorder_percent": 101}}},
        "thresholds.reorder_percent",
    ),
    ("thresholds a list", {"settings": {"thresholds": [1, 2]}}, "thresholds"),
    ("a service as text", {"services": {"reorders": "off"}}, "services.reorders"),
    ("a service as 0", {"services": {"billing": 0}}, "services.billing"),
    ("services with 100,000 keys", {"services": {f"k{i}": False for i in range(100_000)}}, "services"),
    ("a weekly cycle", {"billing": {"cycle": "weekly", "day": 1}}, "billing"),
    ("billing day 31", {"billing": {"cycle": "monthly", "day": 31}}, "billing"),
    ("billing a string", {"billing": "monthly"}, "billing"),
    ("settings a list", {"settings": [1, 2, 3]}, "settings"),
    ("unknown settings", {"settings": {"rm -rf": 1, "x" * 1000: 2}}, "settings"),
    ("sv a string", {"sv": "DROP TABLE"}, "sv"),
    ("sv 2**70", {"sv": 2**70}, "sv"),
]


@pytest.mark.parametrize(("what", "sync", "key"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_or_buggy_value_is_refused_by_name_and_the_own_value_stays(
    what: str, sync: dict[str, Any], key: str
) -> None:
    remote = read_settings(sync)
    assert key in remote.refused, remote.refused
    assert key not in remote.values
    made = report(remote, ())
    assert key in made["refused"] and len(json.dumps(made)) < 2048  # the report stays small


def make(tmp_path: Path, **kw: Any) -> UplinkService:
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    return UplinkService(box, NOWHERE, now=lambda: T0.replace(tzinfo=dt.UTC), **kw)


def sync_messages(svc: UplinkService) -> list[dict[str, Any]]:
    box = svc.outbox
    keys = {box.identity.key_id: box.identity.public_raw}.get
    rows = box.con.execute("SELECT envelope FROM uplink_outbox ORDER BY seq").fetchall()
    decoded = [decode_payload(open_envelope(bytes(e), keys)[1]) for (e,) in rows]
    return [m["data"] for m in decoded if m["kind"] == "sync"]


async def test_hostile_values_leave_the_appliance_on_its_own_configuration(tmp_path: Path) -> None:
    schedule = FollowedDailyAt([dt.time(2, 30)], "UTC")
    svc = make(tmp_path, reorder_percent=20.0, lead_time_days=7.0)
    svc.follow_upload_times(schedule)
    await svc._apply_sync(GOOD)
    assert list(schedule.times) == [dt.time(4), dt.time(16)] and svc.budget() == 50_000
    assert (svc.reorder_percent, svc.lead_time_days) == (12.5, 3.0)
    assert not svc._service("reorders") and not svc._service("assist") and svc._service("billing")
    assert svc.cycle_of(dt.date(2026, 12, 1)) == "2026-10-10"
    for _, sync, _ in HOSTILE:
        await svc._apply_sync(sync)
        assert list(schedule.times) == [dt.time(2, 30)]  # the configured times again, never the bad ones
        assert svc.reorder_percent == 20.0 and svc.lead_time_days == 7.0
        assert svc._service("reorders") and svc._service("billing")
        assert svc.cycle_of(dt.date(2026, 12, 1)) == "2026-12-01"  # the appliance's own schedule
    reports = [m for m in sync_messages(svc) if "applied" in m]
    assert reports[0]["sv"] == 7 and reports[0]["applied"]["upload_times"] == ["04:00:00", "16:00:00"]
    assert all(m["refused"] for m in reports[1:])


async def test_locked_keys_keep_the_customers_values_and_the_report_says_so(tmp_path: Path) -> None:
    schedule = FollowedDailyAt([dt.time(2, 30)], "UTC")
    svc = make(tmp_path, locked=["upload_times", "services.reorders", "thresholds"], reorder_percent=20.0)
    svc.follow_upload_times(schedule)
    await svc._apply_sync(GOOD)
    assert list(schedule.times) == [dt.time(2, 30)]
    assert svc._service("reorders") and not svc._service("assist")  # only the locked one stays
    assert (svc.reorder_percent, svc.budget()) == (20.0, 50_000)
    [made] = sync_messages(svc)
    assert made["sv"] == 7
    assert made["locked"] == [
        "services.reorders", "thresholds.lead_time_days", "thresholds.reorder_percent", "upload_times",
    ]  # fmt: skip
    assert made["applied"]["budget_bytes_per_day"] == 50_000 and "upload_times" not in made["applied"]
    assert made["refused"] == {}
    await svc._apply_sync(GOOD)  # the same settings again (the report's own answer): no new report
    assert len(sync_messages(svc)) == 1


def test_the_locked_list_is_checked_where_it_is_configured() -> None:
    base = "[uplink]\nurl = 'https://c.example'\nsite_id = 's'\n"
    config = parse_config(base + "locked = ['upload_times', 'services.billing']\n")
    assert config.uplink is not None and config.uplink.locked == ("upload_times", "services.billing")
    with pytest.raises(ConfigError, match=r"<config>:4: uplink\.locked\[1\]: 'uploads' is not a setting"):
        parse_config(base + "locked = ['billing', 'uploads']\n")


# -- the scheduler follows --------------------------------------------------------------------------


async def test_the_upload_job_wakes_for_new_times_and_runs_at_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioWallClock(T0.replace(tzinfo=dt.UTC))
    schedule = FollowedDailyAt([dt.time(2, 30)], "UTC")
    runs: list[dt.datetime] = []

    async def upload(ctx: RunContext) -> None:
        runs.append(clock.now())

    scheduler = Scheduler(
        [Job("upload", schedule, upload, run_on_first_start=False)], clock=clock, state=MemoryState()
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(scheduler.serve)
        await trio.sleep(3600)  # 01:00: the job sleeps towards 02:30
        assert schedule.follow([dt.time(1, 30), dt.time(13, 0)], "UTC")
        await trio.sleep(86400 + 1860)  # past 01:30 the next day
        nursery.cancel_scope.cancel()
    day = T0.replace(tzinfo=dt.UTC)
    assert runs == [day + dt.timedelta(hours=h) for h in (1.5, 13, 25.5)]


# -- end to end ----------------------------------------------------------------------------------------


@dataclass
class World:
    t: dt.datetime
    skew: dt.timedelta

    def collector(self) -> dt.datetime:
        return self.t

    def appliance(self) -> dt.datetime:
        return (self.t + self.skew).replace(tzinfo=dt.UTC)


class CountedDailyAt(FollowedDailyAt):
    """Counts the sync answers the service applied (each one sets the upload times)."""

    applied = 0

    def follow(self, times: Sequence[dt.time], timezone: str) -> bool:
        self.applied += 1
        return super().follow(times, timezone)

    def follow_configured(self) -> bool:
        self.applied += 1
        return super().follow_configured()


async def settled(svc: UplinkService, schedule: CountedDailyAt, store: CollectorStore) -> None:
    """Returns once the outbox is empty and every sync answer the collector gave is applied: the
    service applies an answer after its message has left the outbox (a thread hop between), so
    an empty outbox alone let the test's clock run on past an answer not yet followed."""
    with trio.fail_after(30):
        while True:
            await drained([svc])
            row = store.con.execute(
                "SELECT count(*) FROM messages WHERE kind IN ('sync', 'register')"
            ).fetchone()
            if row is not None and schedule.applied >= int(row[0]) and not (await svc.outbox_counts())[0]:
                return
            await trio.sleep(0.01)


@pytest.mark.realtime
async def test_the_appliance_follows_new_upload_times_at_its_next_sync(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    world = World(T0, dt.timedelta(minutes=7))  # the appliance's clock 7 minutes ahead
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    token = add_site(store, "site-a", now=world.t)
    settings.put(store, "site-a", {"services": {"aggregates": False, "reorders": False}}, by="sam", now=T0)
    collector = await start_collector(nursery, store, certs, now=world.collector)
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    svc = UplinkService(
        box, collector.endpoint(), now=world.appliance, token=token, backoff=Backoff(0.01, 0.05), idle_s=0.02
    )
    schedule = CountedDailyAt([dt.time(2, 30)], "UTC")  # the configured time, until a sync
    svc.follow_upload_times(schedule)
    schedule.applied = 0  # the configured times, followed at once: no answer yet
    await nursery.start(svc.serve)
    uploads: list[dt.datetime] = []
    [assigned] = settings.assigned_slots("site-a")
    a = hms(assigned)
    day = T0.replace(tzinfo=dt.UTC)
    first = day + dt.timedelta(hours=a.hour, minutes=a.minute, seconds=a.second)
    # Support sets new times an hour after day 2's sync (collector's clock).
    changed_at = T0 + dt.timedelta(days=1, hours=a.hour + 1, minutes=a.minute)
    step = dt.timedelta(minutes=10)
    for _ in range(4 * 24 * 6):  # four days of ten-minute steps
        before = world.appliance()
        world.t += step
        if world.t - step < changed_at <= world.t:
            settings.put(store, "site-a", {"upload_times": ["05:00", "17:00"]}, by="support", now=world.t)
        slot = schedule.latest_at_or_before(world.appliance())  # what the upload job runs
        if slot is not None and before < slot <= world.appliance():
            await svc.observe([contract_doc(d, len(uploads), world.appliance()) for d in DEVICES])
            await svc.upload(slot)
            uploads.append(slot)
            await settled(svc, schedule, store)  # the sync answer followed, its report sent
    # Day 1: the configured 02:30 (its sync brings the assigned slot), then the assigned slot daily
    # until the first sync after the change (day 3's), then 05:00 and 17:00.
    expected = [day + dt.timedelta(hours=2, minutes=30)]
    expected += [first + dt.timedelta(days=d) for d in range(3) if first + dt.timedelta(days=d) > expected[0]]
    resync = expected[-1]
    expected += [
        t for d in range(5) for h in (5, 17)
        if resync < (t := day + dt.timedelta(days=d, hours=h)) <= world.appliance()
    ]  # fmt: skip
    assert uploads == expected
    shown = settings.get(store.con, "site-a")
    assert shown["applied"] is not None and shown["applied"]["sv"] == shown["version"]
    assert shown["applied"]["applied"]["upload_times"] == ["05:00:00", "17:00:00"]
    assert shown["applied"]["locked"] == [] and shown["applied"]["refused"] == {}
    nursery.cancel_scope.cancel()


async def test_the_appliance_runs_its_uploads_at_the_synced_times(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    uploads: list[dt.datetime] = []

    class Recorded(UplinkService):
        async def upload(self, slot: dt.datetime) -> None:
            uploads.append(slot)
            await super().upload(slot)

    start = T0.replace(tzinfo=dt.UTC)
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    svc = Recorded(box, NOWHERE, now=lambda: start)
    await svc._apply_sync(
        {"sv": 3, "settings": {"upload_times": ["01:30", "13:00"], "upload_timezone": "UTC"}}
    )
    # The uplink's outbox works in threads: the clock jumps only after 0.3 s of real idleness (at
    # 0, it would jump to the end while an upload's write is still in its thread).
    autojump_clock.autojump_threshold = 0.3
    # Status every 6 h: each wake-up costs the 0.3 s above, and the uploads do not depend on it.
    intervals = Intervals(status_s=6 * 3600.0, meters_s=86400.0, upload_times=(dt.time(2, 30),), jitter=0.0)
    config = Config(devices=tuple(expand_devices("10.9.0.1-10.9.0.3")), intervals=intervals)
    app = Appliance(
        config, poller=FakePoller(1.0), sink=MemorySink(), state=MemoryState(), clock=TrioWallClock(start),
        uplink=svc, seed="t",
    )  # fmt: skip
    with trio.move_on_after(86400 + 2 * 3600):  # to day 2, 02:00
        await app.serve()
    assert uploads == [start + dt.timedelta(hours=h) for h in (1.5, 13, 25.5)]  # never the configured 02:30


@pytest.mark.parametrize("locked", [(), ("billing",)])
async def test_the_billing_job_follows_the_synced_cycle_unless_locked(
    tmp_path: Path, locked: tuple[str, ...]
) -> None:
    upload = FollowedDailyAt([dt.time(2, 30)], "UTC")
    cycle = FollowedBillingCycle(BillingCycle("monthly", 1, "Pacific/Kiritimati"))
    svc = make(tmp_path, locked=locked)
    svc.follow_schedules(upload, cycle)
    await svc._apply_sync(GOOD)  # quarterly, on the 10th
    expected = ("monthly", 1) if locked else ("quarterly", 10)
    assert (cycle.current.kind, cycle.current.day, cycle.current.timezone) == (
        *expected,
        "Pacific/Kiritimati",
    )
    slot = cycle.next_after(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert slot.astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati")).date() == (
        dt.date(2027, 1, 1) if locked else dt.date(2027, 1, 10)
    )
    await svc._apply_sync({"sv": 8, "billing": {"cycle": "weekly", "day": 1}})  # refused: its own again
    assert (cycle.current.kind, cycle.current.day) == ("monthly", 1)

"""The demo's history phase at a small scale: four built-in printers, a month made by the whole
pipeline (poller, store, alerts, uplink to the demo's collector) in accelerated time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
import trio
import trio.testing
from printwatch import catalogue
from printwatch.cli.demo import DEMO_DYNAMICS, demo_config, demo_dynamics
from printwatch.cli.demo_collector import DemoCollector
from printwatch.cli.demo_history import (
    HISTORY_INTERVALS,
    HISTORY_SNMP,
    HistoryResult,
    SteppingClock,
    make_history,
)
from printwatch.config.model import Intervals
from printwatch.scheduler import MemoryState
from printwatch.service.poller import EnginePoller
from printwatch.sim import Simulator
from printwatch.store.store import DUCKDB_CONFIG

END = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
DAYS = 30
COUNT = 4


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with catalogue.simulator(count=COUNT, port=0, dynamics=DEMO_DYNAMICS, time_scale=1.0, seed=3) as s:
        yield s


@pytest.mark.realtime
async def test_a_month_of_history_through_the_pipeline(tmp_path: Path, sim: Simulator) -> None:
    state_dir = tmp_path / "demo"
    collector = DemoCollector.prepare(state_dir / "collector", key_file=state_dir / "uplink.key")
    config = replace(demo_config(sim, state_dir, interval_s=30, web_port=0), uplink=collector.uplink)
    seen: list[tuple[int, int, int]] = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(collector.serve)
            with trio.fail_after(240):
                result: HistoryResult = await make_history(
                    config,
                    sim,
                    end=END,
                    days=DAYS,
                    state=MemoryState(),
                    progress=lambda *p: seen.append(p),
                    accepted=collector.accepted,
                )
            nursery.cancel_scope.cancel()
        accepted = collector.accepted()
        sent = collector.store.con.execute("SELECT kind, count(*) FROM messages GROUP BY kind").fetchall()
    finally:
        collector.close()

    # The simulator's time moved with the appliance's clock: a month.
    assert DAYS * 86400 <= sim.time_s < DAYS * 86400 + 600  # plus the real seconds it took
    assert result.start == END - dt.timedelta(days=DAYS) and result.end == END
    assert [d for d, _, _ in seen] == sorted({d for d, _, _ in seen}) and seen[-1][:2] == (DAYS, DAYS)
    # The demo's schedule: a meter read every 12 hours, each a status poll too (alerts after
    # it); the status job once, at the start.
    assert HISTORY_INTERVALS.status_s > DAYS * 86400 and HISTORY_INTERVALS.meters_s == 12 * 3600
    assert 1 <= result.status_cycles <= 2 and result.meter_reads >= 2 * DAYS - 2
    assert result.documents == seen[-1][2] >= COUNT * (result.status_cycles + result.meter_reads) - COUNT

    # As the appliance opened it (an in-process instance of the file may still be cached).
    con = duckdb.connect(str(config.appliance.store_path), config=DUCKDB_CONFIG)
    try:
        supplies = con.execute(
            "SELECT device_id, min(time), max(time), count(*) FROM supply_history "
            "WHERE percent IS NOT NULL GROUP BY device_id"
        ).fetchall()
        meters = con.execute(
            "SELECT device_id, min(time), max(time), count(DISTINCT time), "
            "count(*) FILTER (WHERE oid IS NOT NULL) FROM meter_history GROUP BY device_id"
        ).fetchall()
        pages = con.execute(
            "SELECT device_id, count(*), sum(pages) FROM pages_per_day GROUP BY device_id"
        ).fetchall()
        alerts = con.execute(
            "SELECT count(*), count(closed_at), min(opened_at), max(coalesce(closed_at, opened_at)) "
            "FROM alert_log"
        ).fetchone()
        devices = con.execute("SELECT count(*) FROM devices WHERE serial IS NOT NULL").fetchone()
        rolled_up = con.execute("SELECT max(day) FROM pages_daily").fetchone()
    finally:
        con.close()
    # One snapshot for readers in other processes, of the whole month, written at its end.
    snapshot = duckdb.connect(f"{config.appliance.store_path}.snapshot", read_only=True)
    try:
        assert snapshot.execute("SELECT count(*) FROM devices WHERE serial IS NOT NULL").fetchone() == devices
        levels = snapshot.execute("SELECT count(*) FROM supply_history WHERE percent IS NOT NULL").fetchone()
        assert levels == (sum(s[3] for s in supplies),)
    finally:
        snapshot.close()
    naive_start, naive_end = (result.start.replace(tzinfo=None), END.replace(tzinfo=None))
    # A month less a poll's jitter: a printer switched off at night is seen by one poll a day,
    # and that poll's start moves within its slot's jitter from one day to the next.
    month = dt.timedelta(days=DAYS - 1, seconds=-HISTORY_INTERVALS.jitter * HISTORY_INTERVALS.meters_s)
    assert devices == (COUNT,)
    # Every printer: supply levels and meter reads (with the OID they came from) over the month.
    assert len(supplies) == COUNT and len(meters) == COUNT
    for _, first, last, n in supplies:
        assert naive_start <= first and last <= naive_end and last - first >= month and n >= 2 * DAYS - 2
    for _, first, last, reads, with_oid in meters:
        # Two reads a day, of which the store keeps a day's last beyond its recent tier.
        assert last - first >= month and reads >= DAYS - 1 and with_oid > 0
    # Pages per day over the month for every printer: the daily upkeeps, at simulated dates,
    # rolled each closed day up into pages_daily (the last one on END's day, at 00:20).
    assert len(pages) == COUNT and all(days >= DAYS - 2 and total > 0 for _, days, total in pages), pages
    assert rolled_up == (END.date() - dt.timedelta(days=1),)
    # Alerts opened and closed inside the month.
    assert alerts is not None and alerts[0] >= 1 and alerts[1] >= 1
    assert naive_start <= alerts[2] and alerts[3] <= naive_end
    assert result.alerts_opened >= 1 and result.alerts_closed >= 1
    # The uplink's messages, accepted by the demo's collector: a daily aggregate each day.
    kinds = dict(sent)
    assert accepted == sum(kinds.values()) >= DAYS and kinds.get("aggregate", 0) >= DAYS - 1, kinds


async def test_the_stepping_clock_jumps_only_when_every_sleeper_waits() -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    moves: list[dt.datetime] = []
    clock = SteppingClock(start, start + dt.timedelta(hours=10), sleepers=2, moved=moves.append)
    woke: list[tuple[str, dt.datetime]] = []

    async def sleeper(name: str, every_h: int, busy: trio.Event | None) -> None:
        while True:
            await clock.sleep_until(clock.now() + dt.timedelta(hours=every_h))
            woke.append((name, clock.now()))
            if busy is not None:  # a run in progress: time must stand still meanwhile
                await busy.wait()

    release = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sleeper, "a", 2, None)
        nursery.start_soon(sleeper, "b", 3, release)
        with trio.fail_after(5):
            await trio.testing.wait_all_tasks_blocked()  # "a" at 2 h, then "b" at 3 h, which stays busy
            assert woke == [("a", start + dt.timedelta(hours=2)), ("b", start + dt.timedelta(hours=3))]
            assert clock.now() == start + dt.timedelta(hours=3)  # "a" waits for 4 h; "b" is busy
            release.set()
            await clock.ended.wait()
        nursery.cancel_scope.cancel()
    assert clock.now() == start + dt.timedelta(hours=10) == moves[-1]
    assert [t for n, t in woke if n == "a"] == [start + dt.timedelta(hours=h) for h in (2, 4, 6, 8, 10)]


#: The nights test: the whole catalogue once, four days, a status poll every two hours.
NIGHT_COUNT = 48
NIGHT_DAYS = 4
NIGHT_INTERVALS = Intervals(status_s=2 * 3600.0, meters_s=24 * 3600.0, jitter=0.05)


def _night(t: dt.datetime) -> bool:
    """True in the demo's night hours (19:00 to 07:00 in ``t``'s zone)."""
    return t.hour >= 19 or t.hour < 7


@pytest.mark.realtime
async def test_the_demo_fleet_has_nights_off_and_jams_that_open_and_close(tmp_path: Path) -> None:
    """With the demo's dynamics a few printers are switched off every night (and answer again
    every morning, on the history's clock: the nights follow the time of day of its end), and
    jams open and close as alerts: all seen through the appliance's own poll and store."""
    state_dir = tmp_path / "demo"
    collector = DemoCollector.prepare(state_dir / "collector", key_file=state_dir / "uplink.key")
    dynamics = demo_dynamics(END)
    sim = catalogue.simulator(count=NIGHT_COUNT, port=0, dynamics=dynamics, time_scale=1.0, seed=0)
    try:
        sim.start()
        config = replace(demo_config(sim, state_dir, interval_s=30, web_port=0), uplink=collector.uplink)
        async with trio.open_nursery() as nursery:
            await nursery.start(collector.serve)
            with trio.fail_after(240):
                await make_history(
                    config, sim, end=END, days=NIGHT_DAYS, state=MemoryState(), intervals=NIGHT_INTERVALS
                )
            nursery.cancel_scope.cancel()
    finally:
        sim.stop()
        collector.close()
    con = duckdb.connect(str(config.appliance.store_path), config=DUCKDB_CONFIG)
    try:
        changes = con.execute(
            "SELECT device_id, time, reachable FROM status_changes ORDER BY device_id, time"
        ).fetchall()
        faults = con.execute(
            "SELECT subject, opened_at, closed_at FROM alert_log WHERE kind = 'fault'"
        ).fetchall()
    finally:
        con.close()
    # Per printer, the nights it went off in the night hours and was back in the morning.
    nights: dict[int, int] = {}
    off_at: dict[int, dt.datetime] = {}
    for device, time, reachable in changes:
        if not reachable:
            off_at[device] = time
        elif device in off_at:
            went = off_at.pop(device)
            if _night(went) and _night(time - dt.timedelta(hours=2)) and 7 <= time.hour < 9:
                nights[device] = nights.get(device, 0) + 1
    night_printers = [d for d, n in nights.items() if n >= NIGHT_DAYS - 1]
    # A small share of the fleet (6% of the printers, so 1 to 8 of 48), off nearly every night.
    assert 1 <= len(night_printers) <= 8, (nights, changes)
    # Jams (the jammed error bit, and the alert table's jam row) open and close in the history.
    jams = [f for f in faults if "jam" in f[0].lower() or f[0].startswith("8@")]
    assert any(closed is not None for _, _, closed in jams), faults
    assert all(closed is None or opened < closed for _, opened, closed in jams)


async def test_the_historys_polls_read_every_model_the_v1_only_ones_included() -> None:
    """The history polls with :data:`HISTORY_SNMP`: version ``auto`` falls back to v1 on the
    retry, so old firmware that speaks v1 only is read like the rest (it was left out when the
    history polled without a retry)."""
    models = [m for m in catalogue.load_models() if m.versions == ("1",)]
    models.append(next(m for m in catalogue.load_models() if "2c" in m.versions))
    with catalogue.simulator(models, count=len(models), base="127.26.9.1", port=0, seed=3) as sim:
        # Its retries, with a timeout that a loaded machine cannot miss twice.
        poller = EnginePoller(replace(HISTORY_SNMP, timeout_s=0.5), local_address="127.0.0.1")
        devices = [(f"127.26.9.{i + 1}", sim.port) for i in range(len(models))]
        with trio.fail_after(30):
            docs = await poller.poll(devices, "status", END)
    assert [(d["reachable"], d.get("version")) for d in docs] == [(True, "1"), (True, "1"), (True, "2c")]
    assert all(d["serial"] for d in docs)

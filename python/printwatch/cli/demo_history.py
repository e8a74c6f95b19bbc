"""The demo's month of history: the whole appliance (poller, store, alerts, uplink) run against
the simulator in accelerated time, before the demo goes on in real time.

Time is a :class:`SteppingClock`: it stands still while any of the scheduler's jobs runs (a
poll, its write, the alerts, the uplink's messages), and when every job sleeps it jumps to the
earliest wake-up, moving the simulator's time (:meth:`printwatch.sim.Simulator.advance`) to
the same point, so the printers have printed, drained toner and jammed for exactly the time the
appliance sees pass. Every row reaches the store the way it does in real time: polled by the
engine over UDP, written by the sink, evaluated by the alerts, sent by the uplink to the demo's
collector. Only the intervals differ (:data:`HISTORY_INTERVALS`: a meter read every 12 hours,
each a status poll too), and the SNMP timeout, short on loopback (:data:`HISTORY_SNMP`).

Error handling: what :func:`printwatch.cli.assembly.assemble` raises; a job that fails is the
scheduler's (logged, counted), as in real time.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import trio

from printwatch.cli.assembly import Assembled, assemble
from printwatch.config.model import Config, Intervals, SnmpConfig
from printwatch.scheduler import RunState
from printwatch.service.sinks import StoreSink
from printwatch.sim import Simulator
from printwatch.uplink.service import UplinkService

log = logging.getLogger(__name__)

#: The history's schedule: a meter read every 12 hours, which is a status poll too (it asks
#: the status plan as well as the vendor's counters, and the alerts are evaluated after it), so
#: the printer page's charts get 2 supply levels and 2 meter reads a day (60 points on a
#: supply's 30-day chart, a value for every day of pages per day) and the alerts see a day and
#: a night; the status job runs once, at the start (its interval is longer than the history: a
#: separate status poll beside each meter read would cost half as much again and add nothing).
#: An upload at 02:30, the billing read on the 1st, the upkeep after midnight, as always. Each
#: poll costs the same in real time whatever its interval, so these intervals set the history's
#: duration.
HISTORY_INTERVALS = Intervals(status_s=64 * 86400.0, meters_s=12 * 3600.0, jitter=0.1)
#: Loopback answers in well under a millisecond; a poll waits for its offline printers' two
#: timeouts (0.1 s: at night, most of a cycle's wall time). One retry: version ``auto`` asks v2c
#: first and v1 on the retry, the only way the v1-only models (old firmware) are read; without
#: it they never made it into the history.
HISTORY_SNMP = SnmpConfig(communities=("public",), timeout_s=0.05, retries=1, max_pps=50_000)
#: After the last simulated day, the uplink's outbox is given this long to drain.
DRAIN_S = 30.0


class SteppingClock:
    """Wall time from ``start`` that moves only in jumps: to the earliest wake-up time, when all
    ``sleepers`` tasks (the scheduler's jobs) wait in :meth:`sleep_until`. ``moved(t)`` is
    called before each jump. It stops at ``end``: a wake-up after it moves the time to ``end``,
    sets :attr:`ended` and wakes no one."""

    def __init__(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        sleepers: int,
        moved: Callable[[dt.datetime], None] = lambda t: None,
    ) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        self._now = start
        self.start, self.end = start, end
        self.sleepers = sleepers
        self.moved = moved
        self.ended = trio.Event()
        self._waiting: list[tuple[dt.datetime, int, trio.Event]] = []
        self._order = itertools.count()

    def now(self) -> dt.datetime:
        return self._now

    async def sleep_until(self, when: dt.datetime) -> None:
        if when <= self._now:
            await trio.lowlevel.checkpoint()
            return
        entry = (when, next(self._order), trio.Event())
        heapq.heappush(self._waiting, entry)
        self._jump()
        try:
            await entry[2].wait()
        finally:
            if not entry[2].is_set():  # cancelled while waiting
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)

    def _jump(self) -> None:
        if len(self._waiting) < self.sleepers or self.ended.is_set():
            return
        when = self._waiting[0][0]
        if when > self.end:
            self.moved(self.end)
            self._now = self.end
            self.ended.set()
            return
        self.moved(when)
        self._now = when
        while self._waiting and self._waiting[0][0] <= when:
            heapq.heappop(self._waiting)[2].set()


@dataclass
class HistoryResult:
    """What the history phase did: its span, the documents it wrote, its alerts and uploads."""

    start: dt.datetime
    end: dt.datetime
    days: int
    documents: int
    status_cycles: int
    meter_reads: int
    alerts_opened: int
    alerts_closed: int
    uploads_pending: int
    #: Uploads the collector had accepted when the history ended (``accepted()``).
    accepted: int
    first_password: str | None
    seconds: float


def history_config(config: Config, intervals: Intervals = HISTORY_INTERVALS) -> Config:
    """``config`` for the history: its devices polled (no discovery: a sweep of the network
    finds the same printers, in real time), on ``intervals``."""
    return replace(config, networks=(), intervals=intervals, snmp=HISTORY_SNMP)


async def make_history(
    config: Config,
    sim: Simulator,
    *,
    end: dt.datetime,
    days: int,
    state: RunState,
    progress: Callable[[int, int, int], None] = lambda day, days, polls: None,
    accepted: Callable[[], int] = lambda: 0,
    drain_s: float = DRAIN_S,
    intervals: Intervals = HISTORY_INTERVALS,
) -> HistoryResult:
    """Runs the appliance of ``history_config(config)`` from ``end - days`` to ``end`` against
    ``sim`` (whose time, since it was made, is taken for the history's start), then gives the
    uplink up to ``drain_s`` real seconds to send what is waiting, and closes the appliance.
    ``progress(day, days, polls)`` is called as each simulated day ends (the last one: once the
    uplink is drained).
    The collector the uplink sends to must be serving (``accepted``: its count of uploads)."""
    start = end - dt.timedelta(days=days)
    base_s = sim.time_s
    t0 = trio.current_time()
    reported = [0]

    def moved(when: dt.datetime) -> None:
        behind_s = base_s + (when - start).total_seconds() - sim.time_s
        if behind_s > 0:
            sim.advance(behind_s)
        day = int((when - start).total_seconds() // 86400)  # days done
        if reported[0] < day < days:
            reported[0] = day
            progress(day, days, parts.appliance.sink_stats.documents)

    clock = SteppingClock(start, end, sleepers=0, moved=moved)
    parts: Assembled = assemble(
        history_config(config, intervals),
        clock=clock,
        state=state,
        seed="demo-history",
        local_address="127.0.0.1",
        discovery_port=sim.port,
    )
    appliance = parts.appliance
    clock.sleepers = len(appliance.scheduler.jobs)  # every job sleeps on the clock between runs
    sink = appliance.sink if isinstance(appliance.sink, StoreSink) else None
    if sink is not None:
        sink.snapshots = False  # one snapshot of the month, at its end
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(appliance.uplink.serve)
            await nursery.start(appliance.serve)
            await clock.ended.wait()
            # The scheduler stops; the uplink keeps sending what the month left in its outbox.
            uplink = parts.uplink
            with trio.move_on_after(drain_s):
                # Polled: the sender has no event for an empty outbox (bounded by drain_s).
                while isinstance(uplink, UplinkService) and (await uplink.outbox_counts())[0] > 0:  # noqa: ASYNC110
                    await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
        if sink is not None:
            await sink.publish_now()
    finally:
        await appliance.aclose()
    stats = appliance.scheduler.statistics()
    alerts = parts.alerts.stats
    progress(days, days, appliance.sink_stats.documents)
    return HistoryResult(
        start=start,
        end=end,
        days=days,
        documents=appliance.sink_stats.documents,
        status_cycles=stats["status"].runs,
        meter_reads=stats["meters"].runs,
        alerts_opened=alerts.opened,
        alerts_closed=alerts.closed,
        uploads_pending=appliance.uplink.pending(),  # as the sender last counted
        accepted=accepted(),
        first_password=parts.web.first_password,
        seconds=trio.current_time() - t0,
    )

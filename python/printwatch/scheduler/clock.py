"""Wall time for the scheduler: the system's, or one driven by Trio's clock for tests.

Schedules are in wall time (an upload at 02:30, a billing cycle on the 1st), but Trio sleeps
on its own monotonic clock. :class:`SystemClock` sleeps in steps of at most ``max_step_s`` and
looks at the wall clock again after each, so a clock that jumps (NTP after boot, a VM resumed)
delays a job by one step at most. :class:`ShiftedClock` is the same clock moved to a chosen
start (real time at a fixed date: a test's appliance that serves a browser). :class:`TrioWallClock`
maps Trio's clock onto a wall-time start, so ``trio.testing.MockClock(autojump_threshold=0)`` runs
a simulated month in seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

import trio

from printwatch.clock import utcnow

UTC = dt.UTC


class WallClock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep_until(self, when: dt.datetime) -> None:
        """Returns at or after ``when``; cancellable."""
        ...


class SystemClock:
    """The system's wall clock."""

    def __init__(self, max_step_s: float = 60.0) -> None:
        self.max_step_s = max_step_s

    def now(self) -> dt.datetime:
        return utcnow()

    async def sleep_until(self, when: dt.datetime) -> None:
        while True:
            remaining_s = (when - self.now()).total_seconds()
            if remaining_s <= 0:
                return
            await trio.sleep(min(remaining_s, self.max_step_s))


class ShiftedClock(SystemClock):
    """Real time from ``start``: ``start`` plus the monotonic time since this object was made,
    the same in every thread and every Trio run."""

    def __init__(self, start: dt.datetime, max_step_s: float = 60.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time must be timezone-aware")
        super().__init__(max_step_s)
        self.start = start
        self.monotonic_start = time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self.monotonic_start)


class TrioWallClock:
    """Wall time = ``start`` + the Trio time elapsed since this object was made (inside a run)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time must be timezone-aware")
        self.start = start
        self.trio_start = trio.current_time()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=trio.current_time() - self.trio_start)

    async def sleep_until(self, when: dt.datetime) -> None:
        await trio.sleep_until(self.trio_start + (when - self.start).total_seconds())

"""The appliance's jobs and their schedules, from the configured intervals.

| job | when | on first start |
| --- | --- | --- |
| ``status`` | every ``status_s`` (5 minutes; 1 to 60): status, supplies, alerts | runs |
| ``meters`` | every ``meters_s`` (2 hours): billing meter reads | runs |
| ``upload`` | daily at 1 to 4 times of day (a sync may set them): the package | waits for its time |
| ``billing`` | on the billing day of each month, quarter or half-year: the cycle's meter read | waits |
| ``discovery`` | weekly: re-sweep the configured networks | runs |
| ``upkeep`` | daily at 00:20: the history's tiers and retention | waits |

Start times are spread by a jitter of ``intervals.jitter`` times the interval (for the upload,
of half an hour, at most half the gap between two upload times; for the billing cycle, of an
hour).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from printwatch.config.model import Intervals
from printwatch.scheduler.runner import Job, RunContext
from printwatch.scheduler.schedules import (
    BillingCycle,
    DailyAt,
    Every,
    FollowedBillingCycle,
    FollowedDailyAt,
)

JobBody = Callable[[RunContext], Awaitable[None]]

#: When the history's daily upkeep runs (local time), after the day's last status polls.
UPKEEP_AT = dt.time(0, 20)


class Hooks(Protocol):
    """What the appliance does at each job's slots."""

    @property
    def poll_status(self) -> JobBody: ...
    @property
    def read_meters(self) -> JobBody: ...
    @property
    def upload(self) -> JobBody: ...
    @property
    def close_billing_cycle(self) -> JobBody: ...
    @property
    def discover(self) -> JobBody: ...
    @property
    def upkeep(self) -> JobBody: ...


def appliance_jobs(intervals: Intervals, hooks: Hooks) -> list[Job]:
    """The jobs of the table above."""
    j = intervals.jitter
    return [
        Job("status", Every(intervals.status_s, j * intervals.status_s), hooks.poll_status),
        Job("meters", Every(intervals.meters_s, j * intervals.meters_s), hooks.read_meters),
        Job(
            "upload",
            FollowedDailyAt(intervals.upload_times, intervals.timezone, j),
            hooks.upload,
            run_on_first_start=False,
        ),
        Job(
            "billing",
            FollowedBillingCycle(
                BillingCycle(intervals.billing_cycle, intervals.billing_day, intervals.timezone, j * 3600.0)
            ),
            hooks.close_billing_cycle,
            run_on_first_start=False,
        ),
        Job("discovery", Every(intervals.discovery_s, j * intervals.discovery_s), hooks.discover),
        Job(
            "upkeep",
            DailyAt([UPKEEP_AT], intervals.timezone, j * 1800.0),
            hooks.upkeep,
            run_on_first_start=False,
        ),
    ]

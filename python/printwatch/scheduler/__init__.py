"""The Trio scheduler: what runs when (see :mod:`printwatch.scheduler.runner` for the rules and
:mod:`printwatch.scheduler.jobs` for the appliance's jobs)."""

from printwatch.scheduler.clock import ShiftedClock, SystemClock, TrioWallClock, WallClock
from printwatch.scheduler.jobs import Hooks, appliance_jobs
from printwatch.scheduler.runner import Job, JobStats, RunContext, Scheduler
from printwatch.scheduler.schedules import BillingCycle, DailyAt, Every, Schedule
from printwatch.scheduler.state import MemoryState, RunState, StateFile

__all__ = [
    "BillingCycle",
    "DailyAt",
    "Every",
    "Hooks",
    "Job",
    "JobStats",
    "MemoryState",
    "RunContext",
    "RunState",
    "Schedule",
    "Scheduler",
    "ShiftedClock",
    "StateFile",
    "SystemClock",
    "TrioWallClock",
    "WallClock",
    "appliance_jobs",
]

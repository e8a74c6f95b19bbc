"""The scheduler: runs each job at its slots, one run of a job at a time.

Rules (issue 7):

* **Jitter.** A slot's run starts at ``slot + jitter`` (see
  :func:`~printwatch.scheduler.schedules.jitter_for`).
* **Never stacked.** Each job has one task that runs its slots in turn. A run longer than its
  budget (by default the interval) has *overrun*: that is logged (a warning naming the job, the
  run's duration and its budget), and every slot whose start passed meanwhile is *skipped*
  (logged and counted), never queued up behind it. A run within its budget that still ends
  after the next start (it began late: a catch-up, a first start, jitter) is followed at once by
  that next slot's run, and only by the latest such slot.
* **Catch-up, once.** On start, if a slot fell due since the last one a job completed (the
  :class:`~printwatch.scheduler.state.RunState` remembers it across restarts), the job runs once
  at once, however many slots were missed; then its normal schedule goes on. On a first start
  (nothing remembered), jobs with ``run_on_first_start`` run at once, the others wait for their
  next slot.
* **Completed runs are remembered**; a run cut short (cancelled at shutdown) is not, so it
  runs again on the next start. A first start that does not run a job remembers the slot just
  passed, so that downtime before the job's first run is caught up too.

Error handling: an exception from a job's run is logged with its traceback and counted
(``failures``); the job keeps its schedule. Cancellation passes through.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import trio

from printwatch.scheduler.clock import WallClock
from printwatch.scheduler.schedules import Schedule, jitter_for
from printwatch.scheduler.state import RunState

log = logging.getLogger(__name__)

Reason = Literal["schedule", "catch-up", "first-start"]


@dataclass(frozen=True)
class RunContext:
    """What a job's run is for: the slot it serves and why it runs now."""

    job: str
    slot: dt.datetime
    reason: Reason


@dataclass
class Job:
    name: str
    schedule: Schedule
    run: Callable[[RunContext], Awaitable[None]]
    run_on_first_start: bool = True
    budget_s: float | None = None  # default: the schedule's nominal interval

    @property
    def budget(self) -> float:
        return self.budget_s if self.budget_s is not None else self.schedule.nominal_interval_s()


@dataclass
class JobStats:
    runs: int = 0
    skipped: int = 0
    overruns: int = 0
    failures: int = 0
    running: bool = False
    last_slot: dt.datetime | None = None
    last_duration_s: float | None = None
    #: CPU seconds of the whole process (every thread) while the last run ran: the run's own
    #: cost plus whatever else ran beside it (HTTP requests, another job).
    last_cpu_s: float | None = None
    last_budget_used: float | None = None  # duration / budget of the last completed run
    next_start: dt.datetime | None = None
    durations_s: list[float] = field(default_factory=list)  # of the last 100 runs


class Scheduler:
    """Runs ``jobs`` on ``clock``, remembering completed slots in ``state``.

    >>> scheduler = Scheduler(jobs, clock=SystemClock(), state=StateFile(path))  # doctest: +SKIP
    >>> async with trio.open_nursery() as nursery:  # doctest: +SKIP
    ...     await nursery.start(scheduler.serve)
    """

    def __init__(self, jobs: Sequence[Job], *, clock: WallClock, state: RunState, seed: str = "") -> None:
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.jobs = list(jobs)
        self.clock = clock
        self.state = state
        self.seed = seed
        self.stats: dict[str, JobStats] = {j.name: JobStats() for j in jobs}

    def statistics(self) -> dict[str, JobStats]:
        return self.stats

    def start_time(self, job: Job, slot: dt.datetime) -> dt.datetime:
        """When ``slot`` of ``job`` starts: the slot plus its jitter."""
        return slot + dt.timedelta(seconds=jitter_for(job.name, slot, job.schedule.jitter_s, self.seed))

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Runs every job until cancelled (started once every job has made its start decision)."""
        async with trio.open_nursery() as nursery:
            for job in self.jobs:
                await nursery.start(self._serve_job, job)
            task_status.started()

    async def _run(self, job: Job, slot: dt.datetime, reason: Reason) -> None:
        stats = self.stats[job.name]
        stats.running = True
        t0, cpu0 = trio.current_time(), time.process_time()
        log.debug("%s: run for slot %s (%s)", job.name, slot.isoformat(), reason)
        try:
            await job.run(RunContext(job.name, slot, reason))
        except Exception:
            stats.failures += 1
            log.exception("%s: the run for slot %s failed", job.name, slot.isoformat())
        finally:
            stats.running = False
        duration_s = trio.current_time() - t0
        stats.runs += 1
        stats.last_slot = slot
        stats.last_duration_s = duration_s
        stats.last_cpu_s = time.process_time() - cpu0
        stats.last_budget_used = duration_s / job.budget
        stats.durations_s = [*stats.durations_s[-99:], duration_s]
        if duration_s > job.budget:
            stats.overruns += 1
            log.warning(
                "%s: the run for slot %s took %.1f s, over its budget of %.1f s",
                job.name,
                slot.isoformat(),
                duration_s,
                job.budget,
            )
        await self.state.save(job.name, slot)

    def _skip_passed(self, job: Job, slot: dt.datetime) -> dt.datetime:
        """After a run for ``slot``: the last slot handled. When the run overran its budget,
        every later slot whose start has passed is skipped; when it did not (it started late:
        a catch-up, a first start), the latest of them still runs, at once."""
        now = self.clock.now()
        stats = self.stats[job.name]
        passed = []
        following = job.schedule.next_after(slot)
        while self.start_time(job, following) <= now:
            passed.append(following)
            following = job.schedule.next_after(following)
        overran = stats.last_duration_s is not None and stats.last_duration_s > job.budget
        if passed and not overran:
            passed.pop()  # runs next, late but not stacked
        if passed:
            stats.skipped += len(passed)
            log.warning(
                "%s: still running when %d later slot(s) came due (up to %s): skipped, not stacked",
                job.name,
                len(passed),
                passed[-1].isoformat(),
            )
            return passed[-1]
        return slot

    async def _serve_job(
        self, job: Job, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        now = self.clock.now()
        last = self.state.last_slot(job.name)
        due = job.schedule.latest_at_or_before(now)
        task_status.started()
        cursor: dt.datetime
        if due is not None and last is not None and due > last:
            log.info("%s: slot %s fell due while stopped: running it once now", job.name, due.isoformat())
            await self._run(job, due, "catch-up")
            cursor = self._skip_passed(job, due)
        elif due is not None and last is None and job.run_on_first_start:
            await self._run(job, due, "first-start")
            cursor = self._skip_passed(job, due)
        else:
            cursor = due if due is not None and (last is None or due > last) else (last or now)
            if last is None and due is not None:
                # A first start: the slot just passed is the baseline a later catch-up counts from.
                await self.state.save(job.name, due)
        while True:
            slot = job.schedule.next_after(cursor)
            start = self.start_time(job, slot)
            self.stats[job.name].next_start = start
            if not await self._sleep_until(job, start):
                # The schedule changed (new upload times): on from its next slot after now.
                cursor = max(cursor, self.clock.now())
                log.info("%s: the schedule changed; next slot %s", job.name, job.schedule.next_after(cursor))
                continue
            await self._run(job, slot, "schedule")
            cursor = self._skip_passed(job, slot)

    async def _sleep_until(self, job: Job, start: dt.datetime) -> bool:
        """Sleeps until ``start``: ``True``; or until the job's schedule changes (one that can:
        ``wait_changed``): ``False``."""
        wait_changed = getattr(job.schedule, "wait_changed", None)
        if wait_changed is None:
            await self.clock.sleep_until(start)
            return True
        reached = False
        async with trio.open_nursery() as nursery:

            async def sleep() -> None:
                nonlocal reached
                await self.clock.sleep_until(start)
                reached = True
                nursery.cancel_scope.cancel()

            async def watch() -> None:
                await wait_changed()
                nursery.cancel_scope.cancel()

            nursery.start_soon(sleep)
            nursery.start_soon(watch)
        return reached

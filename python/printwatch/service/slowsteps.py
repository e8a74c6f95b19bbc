"""A diagnostic: the Trio loop's long steps, logged with where they began and ended.

A task step is what runs on the loop between two of its checkpoints; while one runs, nothing
else on the loop does (an HTTP request waits). With ``PRINTWATCH_SLOW_STEP_MS`` set in the
environment of ``printwatch run``, every step of at least that many milliseconds is logged
(logger ``printwatch.slowsteps``, level WARNING, on one line) as::

    slow step 102.2 ms (cpu 102.0 ms) Scheduler._serve_job from fairness.py:35<documents.py:289
        to engine.py:109<documents.py:328

its wall time, the loop thread's CPU time in it (much less than the wall time: the thread waited
for the GIL or for a core), the task, and the innermost printwatch frames where the step resumed
and where it next suspended (innermost first). Unset (the default), nothing is installed.
Costs a few microseconds a step (the frames are read at every step's end): a diagnostic, not a
setting to leave on.

Error handling: a value that is not a positive number is refused by :func:`from_environment`
with a ``ValueError`` naming the variable.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import trio
import trio.abc

log = logging.getLogger("printwatch.slowsteps")

VARIABLE = "PRINTWATCH_SLOW_STEP_MS"


#: The frames :func:`where` names: those of files under a folder of this name.
PACKAGE = "/printwatch/"


def where(task: trio.lowlevel.Task, depth: int = 2, package: str = PACKAGE) -> str:
    """The innermost ``depth`` frames of ``task``'s coroutine chain in files under ``package``,
    innermost first ("-" for none)."""
    frames: list[str] = []
    coro: object = task.coro
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None and package in frame.f_code.co_filename:
            frames.append(f"{frame.f_code.co_filename.rpartition('/')[2]}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return "<".join(reversed(frames[-depth:])) or "-"


class SlowSteps(trio.abc.Instrument):
    """Logs the task steps of at least ``threshold_s`` (see the module's docstring)."""

    def __init__(self, threshold_s: float, package: str = PACKAGE) -> None:
        self.threshold_s = threshold_s
        self.package = package
        self._began: dict[trio.lowlevel.Task, tuple[float, float]] = {}
        self._suspended: dict[trio.lowlevel.Task, str] = {}
        self.logged = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._began[task] = (time.perf_counter(), time.thread_time())

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        began = self._began.pop(task, None)
        now = where(task, package=self.package)
        # Trio calls task_exited before the last step's after_task_step: a task whose coroutine
        # has ended is forgotten here, not kept.
        if getattr(task.coro, "cr_frame", None) is None:
            resumed = self._suspended.pop(task, "-")
        else:
            resumed = self._suspended.get(task, "-")
            self._suspended[task] = now
        if began is None:
            return
        wall = time.perf_counter() - began[0]
        if wall >= self.threshold_s:
            cpu = time.thread_time() - began[1]
            self.logged += 1
            log.warning(
                "slow step %.1f ms (cpu %.1f ms) %s from %s to %s",
                wall * 1e3,
                cpu * 1e3,
                ".".join(task.name.split(".")[-2:]),
                resumed,
                now,
            )

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self._suspended.pop(task, None)  # (its last step's after_task_step comes next)


def from_environment(environ: Mapping[str, str] = os.environ) -> list[trio.abc.Instrument]:
    """The instruments ``PRINTWATCH_SLOW_STEP_MS`` asks for (none when it is unset or empty)."""
    text = environ.get(VARIABLE, "").strip()
    if not text:
        return []
    try:
        ms = float(text)
    except ValueError:
        ms = -1.0
    if not ms > 0 or ms == float("inf"):
        raise ValueError(f"{VARIABLE}={text!r}: a number of milliseconds above 0")
    return [SlowSteps(ms / 1000.0)]

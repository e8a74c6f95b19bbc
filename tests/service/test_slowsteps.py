"""The loop's long steps as a diagnostic (printwatch.service.slowsteps): a step that holds the
loop is logged with its task and where it resumed and suspended; short ones are not; the
environment variable is read strictly."""

from __future__ import annotations

import logging
import time

import pytest
import trio
from printwatch.service.slowsteps import VARIABLE, SlowSteps, from_environment


async def holds_the_loop(seconds: float) -> None:
    await trio.lowlevel.checkpoint()
    time.sleep(seconds)  # noqa: ASYNC251 (the point: a step that blocks the loop)
    await trio.lowlevel.checkpoint()


async def short_steps() -> None:
    for _ in range(50):
        await trio.lowlevel.checkpoint()


@pytest.mark.realtime
def test_a_step_that_holds_the_loop_is_logged_with_where(caplog: pytest.LogCaptureFixture) -> None:
    probe = SlowSteps(0.04, package="/tests/")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(short_steps)
            nursery.start_soon(holds_the_loop, 0.08)

    with caplog.at_level(logging.WARNING, logger="printwatch.slowsteps"):
        trio.run(main, instruments=[probe])
    lines = [r.getMessage() for r in caplog.records if r.name == "printwatch.slowsteps"]
    assert probe.logged == len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("slow step ") and "holds_the_loop" in line
    wall = float(line.split()[2])
    assert wall >= 80.0
    # where it resumed and where it suspended: this file's lines, innermost first
    assert line.count("test_slowsteps.py:") == 2


async def ends_slowly(seconds: float) -> None:
    await trio.lowlevel.checkpoint()
    time.sleep(seconds)  # noqa: ASYNC251 (the task's last step holds the loop)


@pytest.mark.realtime
def test_a_tasks_last_step_is_timed_and_ended_tasks_are_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    probe = SlowSteps(0.04, package="/tests/")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(500):
                nursery.start_soon(short_steps)
            nursery.start_soon(ends_slowly, 0.06)

    with caplog.at_level(logging.WARNING, logger="printwatch.slowsteps"):
        trio.run(main, instruments=[probe])
    lines = [r.getMessage() for r in caplog.records if r.name == "printwatch.slowsteps"]
    assert any("ends_slowly" in line for line in lines), lines
    assert probe._began == {} and probe._suspended == {}  # nothing kept of 500 ended tasks


def test_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert from_environment({}) == [] and from_environment({VARIABLE: " "}) == []
    (probe,) = from_environment({VARIABLE: "25"})
    assert isinstance(probe, SlowSteps) and probe.threshold_s == pytest.approx(0.025)
    for bad in ("0", "-5", "ten", "nan", "inf"):
        with pytest.raises(ValueError, match=VARIABLE):
            from_environment({VARIABLE: bad})

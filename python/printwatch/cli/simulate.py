"""``printwatch simulate``: serve a simulated printer fleet until told to stop."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from printwatch.sim import Simulator

if TYPE_CHECKING:
    from printwatch.engine import V3Credentials
    from printwatch.sim import SimulatorStats

# How often the waiting loop wakes up to look at the clock and the signal flag.
STEP_S = 0.05


@contextmanager
def _stop_on_sigterm(stop: list[int]) -> Iterator[None]:
    """Records SIGTERM in ``stop`` instead of dying, for the time of the block."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    sim: Simulator, duration_s: float | None, community: str = "public", out: TextIO = sys.stdout
) -> SimulatorStats:
    """Starts ``sim``, prints the one line naming the range, waits for SIGINT/SIGTERM or
    ``duration_s``, stops it and returns its stats."""
    stop: list[int] = []
    deadline = None if duration_s is None else time.monotonic() + duration_s
    with _stop_on_sigterm(stop):
        sim.start()
        try:
            print(
                f"serving {sim.count} printers on {sim.first}-{sim.last} port {sim.port} "
                f"({len(sim.recordings)} recordings), community {community}",
                file=out,
                flush=True,
            )
            # time.sleep releases the GIL; Python runs signal handlers between the steps.
            while not stop and (deadline is None or time.monotonic() < deadline):
                time.sleep(STEP_S if deadline is None else max(0.0, min(STEP_S, deadline - time.monotonic())))
        except KeyboardInterrupt:
            pass
        finally:
            stats = sim.stop()
    print("stopped: " + ", ".join(f"{k} {v}" for k, v in stats.items()), file=out, flush=True)
    return stats


def run_simulate(
    recordings: Path,
    *,
    count: int,
    base: str,
    port: int,
    duration_s: float | None,
    community: str,
    identity: bool,
    seed: int,
    dynamics: bool = False,
    time_scale: float = 1.0,
    v3: V3Credentials | None = None,
) -> int:
    try:
        sim = Simulator(
            recordings,
            count=count,
            base=base,
            port=port,
            community=community,
            identity=identity,
            seed=seed,
            dynamics=dynamics,
            time_scale=time_scale,
            v3=v3,
        )
    except (ValueError, OSError, OverflowError) as err:
        print(f"printwatch simulate: {err}", file=sys.stderr)
        return 2
    try:
        answers = community if v3 is None else f"{community}, SNMPv3 user {v3.user} ({v3.level})"
        serve(sim, duration_s, answers)
    except OSError as err:
        print(f"printwatch simulate: cannot serve on port {port}: {err}", file=sys.stderr)
        return 1
    return 0

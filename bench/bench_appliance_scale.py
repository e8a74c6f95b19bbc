"""Smoke test of the whole-appliance bench (``bench/appliance_scale.py``), bounded for ``make
test``: the real ``printwatch run`` over 100 simulated printers for two status cycles (about 75 s:
the shortest status interval is a minute), its loop's steps of 1 ms or more logged. The figures
at 1,000 and 10,000 printers are in docs/benchmarks.md."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

try:
    from bench import appliance_scale
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import appliance_scale


@pytest.mark.realtime
def test_the_bench_measures_every_status_cycle_of_the_real_daemon() -> None:
    run = appliance_scale.measure(
        100, dynamics=False, cycles=2, base="127.61.0.1", limit_s=150, slow_step_ms=1.0
    )
    summary = appliance_scale.summarise(run)
    cycles = summary["cycles"]
    assert len(cycles) >= 2, summary
    for cycle in cycles:
        assert 0 < cycle["wall_s"] < 60 and cycle["cpu_s"] > 0, cycle
        assert cycle["new_timeouts"] == 0 and cycle["rss_mb_max"] > 0, cycle
    assert not math.isnan(summary["median_cpu_ms_per_printer"])
    # The collector refused none of the uplink's messages (how many it accepted depends on how
    # soon the second status run came: the slots are aligned to the wall clock).
    assert summary["uploads"]["rejected"] == 0 and "accepted" in summary["uploads"], summary
    # The status slots are aligned to the wall clock, so the second run may come seconds after the
    # first (CI once saw fewer than 10 scrapes): the probe is checked against the time it ran.
    http = summary["http"]
    assert http["errors"] == 0, http
    probed_s = run.http[-1][1] - run.http[0][1]
    health = http["health_between_ms"]["n"] + http["health_during_cycles_ms"]["n"]
    assert http["metrics_ms"]["n"] >= max(2, probed_s / 4), (probed_s, http)
    assert health >= max(4, probed_s), (probed_s, http)
    assert http["metrics_ms"]["p50"] > 0 and http["health_between_ms"]["p50"] > 0, http
    # The dashboard's fleet page, logged in (its first password changed), at once and every 5 s
    # (a fresh clone's run once had its second status run 2.6 s after the first).
    fleet = http["fleet_between_ms"]["n"] + http["fleet_during_cycles_ms"]["n"]
    assert fleet >= max(1, probed_s / 10), (probed_s, http)
    # The daemon logged its loop's steps of 1 ms or more (PRINTWATCH_SLOW_STEP_MS): some of a
    # cycle's are, each with the printwatch lines it resumed and suspended at.
    slow = summary["slow_steps"]
    assert slow["count"] > 0 and all(" from " in line and " to " in line for line in slow["largest"]), slow
    assert all(wall >= 1.0 for wall, _, _ in run.slow_steps), run.slow_steps[:5]

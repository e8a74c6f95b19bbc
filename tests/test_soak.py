"""Soak: 2,000 simulated printers on the real engine, several status cycles on the real clock,
HTTP probed all along from another thread. No cycle misses its budget, memory stays flat, and
/health and /metrics answer within 100 ms (p99) while a cycle runs.

The default run is bounded (a 10-second interval, 3 cycles: about 30 s) and holds the endpoints
to answering through every cycle (p99 under a second); the long form (the issue's 1-minute
interval, 10 cycles: ``pytest -m slow tests/test_soak.py``) holds them
to the issue's 100 ms and gives the README's figures.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import trio
from printwatch.cli.demo import default_recordings
from printwatch.config.model import Config, Intervals, SnmpConfig, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.service.appliance import Appliance
from printwatch.service.daemon import run_until_stopped
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink
from printwatch.sim import Simulator
from printwatch.store import Store

PRINTERS = 2000


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


PROBE = """
import json, sys, time, urllib.request
base, stop_at = sys.argv[1], float(sys.argv[2])
paths = ["/health", "/metrics"]
i = 0
while time.time() < stop_at:
    path = paths[i % 2]
    i += 1
    t0, p0 = time.time(), time.perf_counter()
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            r.read()
            ok = r.status == 200
        error = None
    except Exception as err:
        ok, error = False, repr(err)
    print(json.dumps([path, t0, time.perf_counter() - p0, ok, error]), flush=True)
    time.sleep(0.02)
"""


@dataclass
class Probe:
    """HTTP requests from another process, as Prometheus or a browser would make them:
    (path, wall start, seconds) of each, and the errors."""

    proc: subprocess.Popen[str]
    samples: list[tuple[str, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, base: str, stop_at: float) -> Probe:
        proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, base, str(stop_at)], stdout=subprocess.PIPE, text=True
        )
        return cls(proc)

    def collect(self) -> None:
        out, _ = self.proc.communicate(timeout=30)
        for line in out.splitlines():
            path, t0, elapsed, ok, error = json.loads(line)
            if ok:
                self.samples.append((path, t0, elapsed))
            else:
                self.errors.append(f"{path}: {error}")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def soak(tmp_path: Path, *, interval_s: float, cycles: int) -> dict[str, object]:
    with Simulator(default_recordings(), count=PRINTERS, base="127.24.0.1", port=0) as sim:
        config = Config(
            snmp=SnmpConfig(timeout_s=1.0, retries=2),
            devices=tuple(expand_devices(f"{sim.first}-{sim.last}:{sim.port}")),
            intervals=replace(Intervals(), status_s=interval_s, meters_s=1e6, jitter=0.1),
            web=WebConfig(port=0),
        )
        sink = StoreSink(Store(tmp_path / "history.duckdb", poll_interval_s=interval_s))
        app = Appliance(
            config,
            poller=EnginePoller(config.snmp, local_address="127.0.0.1"),
            sink=sink,
            state=MemoryState(),
            clock=SystemClock(max_step_s=1.0),
        )
        rss: list[float] = []
        cycle_s: list[float] = []
        busy: list[list[float]] = []  # wall-time spans in which a status or meters cycle ran
        probe: Probe | None = None

        async def watch() -> None:
            seen = 0
            while True:
                await trio.sleep(0.01)
                running = any(app.scheduler.stats[j].running for j in ("status", "meters"))
                if running and (not busy or len(busy[-1]) == 2):
                    busy.append([time.time()])
                elif not running and busy and len(busy[-1]) == 1:
                    busy[-1].append(time.time())
                runs = app.scheduler.stats["status"].runs
                if runs > seen:
                    seen = runs
                    rss.append(rss_mb())
                    cycle_s.append(app.scheduler.stats["status"].last_duration_s or 0.0)

        # the first cycle runs at start, then one per slot: ``cycles`` or ``cycles + 1`` of them
        duration_s = interval_s * (cycles - 0.5)

        async def main() -> None:
            async with trio.open_nursery() as nursery:

                def started(address: tuple[str, int] | None) -> None:
                    nonlocal probe
                    assert address is not None
                    # the probe stops half a second before the server does
                    probe = Probe.start(f"http://{address[0]}:{address[1]}", time.time() + duration_s - 0.5)
                    nursery.start_soon(watch)

                # the first cycle runs at start; then one per interval
                await run_until_stopped(app, web=config.web, duration_s=duration_s, on_started=started)
                nursery.cancel_scope.cancel()

        trio.run(main)
        assert probe is not None
        probe.collect()
    stats = app.scheduler.stats["status"]
    if busy and len(busy[-1]) == 1:
        busy[-1].append(time.time())

    def in_cycle(t0: float, elapsed: float) -> bool:
        return any(start <= t0 + elapsed and t0 <= end for start, end in busy)

    during = [e for _, t0, e in probe.samples if in_cycle(t0, e)]
    figures = {
        "printers": PRINTERS,
        "interval_s": interval_s,
        "cycles": stats.runs,
        "polls": stats.runs + app.scheduler.stats["meters"].runs,  # meters: its first-start read
        "skipped": stats.skipped,
        "overruns": stats.overruns,
        "cycle_s_median": round(statistics.median(cycle_s), 3),
        "cycle_s_max": round(max(cycle_s), 3),
        "budget_used_max": round(max(cycle_s) / interval_s, 3),
        "answered_last_cycle": sum(1 for d in app.fleet.values() if d.get("reachable")),
        "rss_mb": [round(r, 1) for r in rss],
        "http_requests": len(probe.samples),
        "http_requests_during_cycles": len(during),
        "http_p50_ms_during_cycles": round(1000 * statistics.median(during), 2) if during else None,
        "http_p99_ms_during_cycles": round(1000 * p99(during), 2) if during else None,
        "http_max_ms": round(1000 * max(e for _, _, e in probe.samples), 2),
        "http_p99_ms_metrics_during_cycles": round(
            1000
            * p99([e for path, t0, e in probe.samples if path == "/metrics" and in_cycle(t0, e)] or [0.0]),
            2,
        ),
        "http_errors": probe.errors,
        "documents_written": app.sink_stats.documents,
        "store_last_write_s": round(app.sink_stats.last_write_s, 3),
    }
    print("soak figures:", json.dumps(figures))
    for path, t0, e in probe.samples:
        if e > 0.05:
            print(
                "slow", path, round(e * 1000), [round(t0 - b[0], 3) for b in busy if b[0] - 1 < t0 < b[1] + 1]
            )
    return figures


def check(figures: dict[str, object], cycles: int, *, p99_limit_ms: float) -> None:
    assert figures["cycles"] in (cycles, cycles + 1)
    assert figures["skipped"] == 0 and figures["overruns"] == 0
    assert figures["answered_last_cycle"] == PRINTERS
    assert figures["documents_written"] == PRINTERS * figures["polls"]  # type: ignore[operator]
    assert figures["http_errors"] == []
    assert (
        isinstance(figures["http_requests_during_cycles"], int)
        and figures["http_requests_during_cycles"] >= 20
    )
    p99_ms = figures["http_p99_ms_during_cycles"]
    assert isinstance(p99_ms, float) and p99_ms < p99_limit_ms, figures
    rss = figures["rss_mb"]
    assert isinstance(rss, list)
    # Flat: after the first cycle (imports, buffers, the fleet view filled), at most 10% more.
    assert max(rss[1:]) <= rss[1] * 1.10 + 5, rss


def test_soak_bounded(tmp_path: Path) -> None:
    # The bounded run checks that the endpoints keep answering through every cycle (no error,
    # no stall of a second); the 100 ms p99 is the long form's (README: "Soak"), whose
    # figures depend on how busy the machine is.
    check(soak(tmp_path, interval_s=10.0, cycles=3), 3, p99_limit_ms=1000)


@pytest.mark.slow  # left out by default (pyproject's addopts); `pytest -m slow tests/test_soak.py`
def test_soak_long_form(tmp_path: Path) -> None:
    check(soak(tmp_path, interval_s=60.0, cycles=10), 10, p99_limit_ms=100)

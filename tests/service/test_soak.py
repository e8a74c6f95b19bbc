"""Soak: 2,000 simulated printers on the real engine, several status cycles on the real clock,
HTTP probed all along from another process. No cycle misses its budget, memory stays flat, and
/health and /metrics answer within 100 ms (p99) while a cycle runs.

The printers are ``printwatch simulate`` in a process of their own at the lowest CPU priority:
they stand in for other machines, so they take only the CPU the appliance leaves, and the
memory measured is the appliance's alone.

Memory is sampled after each cycle's write and taken apart: the process's RSS, Python's heap
(allocated blocks), and DuckDB's own accounting (``duckdb_memory()``), which grows with the
rows not yet checkpointed until the write-ahead log reaches DuckDB's checkpoint threshold
(about 20 cycles of 2,000 printers), then drops: a saw-tooth, not a leak.

* ``test_soak_bounded`` (in ``make test``): a 10-second interval, 3 cycles, about 30 s; the
  endpoints keep answering through every cycle (p99 under a second).
* ``test_soak_long_form`` (slow): the issue's 1-minute interval, 10 cycles; p99 under 100 ms.
* ``test_soak_memory_plateau`` (slow): a 5-second interval, 100 cycles, several checkpoints:
  the last quarter's memory is no higher than the second quarter's.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from printwatch.service.memory import resident_bytes
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink
from printwatch.store import Store
from printwatch.web import create_app, http_server

from tests.support.ports import free_udp_port

pytestmark = pytest.mark.realtime

PRINTERS = 2000
STORE_MEMORY_MB = 512  # the appliance's default ([appliance] store_memory_mb)
SIM_LINE = re.compile(r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) ")


@contextmanager
def simulated_printers(count: int, base: str, duration_s: float) -> Iterator[tuple[str, str, int]]:
    """``printwatch simulate`` in its own process at nice 19: (first, last, port)."""
    port = free_udp_port()
    cmd = [sys.executable, "-m", "printwatch.cli.main", "simulate", "--recordings", str(default_recordings())]
    cmd += ["--count", str(count), "--base", base, "--port", str(port), "--duration", str(duration_s)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(19)
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        m = SIM_LINE.match(line)
        assert m, (line, proc.stderr.read() if proc.stderr else "")
        yield m.group(2), m.group(3), int(m.group(4))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def rss_mb() -> float:
    rss = resident_bytes()  # what /metrics reports as printwatch_resident_memory_bytes
    assert rss is not None
    return rss / 1e6


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


def soak(tmp_path: Path, *, interval_s: float, cycles: int, upkeep_every: int = 0) -> dict[str, object]:
    """Runs the appliance for ``cycles`` status cycles and returns the figures; with
    ``upkeep_every``, the history's daily upkeep (and its renewal) every that many cycles."""
    # the first cycle runs at start, then one per slot: ``cycles`` or ``cycles + 1`` of them
    duration_s = interval_s * (cycles - 0.5)
    with simulated_printers(PRINTERS, "127.24.0.1", duration_s + 120) as (first, last, port):
        config = Config(
            snmp=SnmpConfig(timeout_s=1.0, retries=2),
            devices=tuple(expand_devices(f"{first}-{last}:{port}")),
            intervals=replace(Intervals(), status_s=interval_s, meters_s=1e6, jitter=0.1),
            web=WebConfig(port=0),
        )
        store = Store(
            tmp_path / "history.duckdb", poll_interval_s=interval_s, memory_limit_mb=STORE_MEMORY_MB
        )
        sink = StoreSink(store)
        app = Appliance(
            config,
            poller=EnginePoller(config.snmp, local_address="127.0.0.1"),
            sink=sink,
            state=MemoryState(),
            clock=SystemClock(max_step_s=1.0),
        )
        samples = Samples()
        rss, heap_blocks, duck_mb, cycle_s, busy = (
            samples.rss,
            samples.heap_blocks,
            samples.duck_mb,
            samples.cycle_s,
            samples.busy,
        )
        probe: Probe | None = None

        async def main() -> None:
            async with trio.open_nursery() as nursery:

                def started(address: tuple[str, int] | None) -> None:
                    nonlocal probe
                    assert address is not None
                    # the probe stops half a second before the server does
                    probe = Probe.start(f"http://{address[0]}:{address[1]}", time.time() + duration_s - 0.5)
                    nursery.start_soon(watch, app, store, sink, samples, upkeep_every)

                # the first cycle runs at start; then one per interval
                web = http_server(create_app(app), config.web)
                await run_until_stopped(app, http=web, duration_s=duration_s, on_started=started)
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
        "jobs": {name: s.runs for name, s in app.scheduler.stats.items()},
        "skipped": stats.skipped,
        "overruns": stats.overruns,
        "cycle_s_median": round(statistics.median(cycle_s), 3),
        "cycle_s_max": round(max(cycle_s), 3),
        "budget_used_max": round(max(cycle_s) / interval_s, 3),
        "answered_last_cycle": sum(1 for d in app.fleet.values() if d.get("reachable")),
        "rss_mb": [round(r, 1) for r in rss],
        "python_heap_blocks": heap_blocks,
        "duckdb_mb": [round(d, 1) for d in duck_mb],
        "http_requests": len(probe.samples),
        "http_requests_during_cycles": len(during),
        "http_p50_ms_during_cycles": round(1000 * statistics.median(during), 2) if during else None,
        "http_p99_ms_during_cycles": round(1000 * p99(during), 2) if during else None,
        "http_p50_ms_between_cycles": {
            path: round(1000 * statistics.median(values), 2)
            for path in ("/health", "/metrics")
            if (values := [e for p, t0, e in probe.samples if p == path and not in_cycle(t0, e)])
        },
        "http_max_ms": round(1000 * max(e for _, _, e in probe.samples), 2),
        "http_p99_ms_metrics_during_cycles": round(
            1000
            * p99([e for path, t0, e in probe.samples if path == "/metrics" and in_cycle(t0, e)] or [0.0]),
            2,
        ),
        "http_errors": probe.errors,
        "documents_written": app.sink_stats.documents,
        "store_last_write_s": round(app.sink_stats.last_write_s, 3),
        "store_renewals": store.renewals,
    }
    print("soak figures:", json.dumps(figures))
    print_slow(probe, busy)
    return figures


@dataclass
class Samples:
    """What :func:`watch` sees, a sample per status cycle (``busy``: as cycles start and end)."""

    rss: list[float] = field(default_factory=list)
    heap_blocks: list[int] = field(default_factory=list)
    duck_mb: list[float] = field(default_factory=list)
    cycle_s: list[float] = field(default_factory=list)
    busy: list[list[float]] = field(
        default_factory=list
    )  # wall-time spans in which a status or meters cycle ran


async def watch(app: Appliance, store: Store, sink: StoreSink, samples: Samples, upkeep_every: int) -> None:
    """Every 10 ms: the spans of cycles running, and after each status cycle the memory figures
    and its duration (with ``upkeep_every``, the history's upkeep every that many cycles)."""
    seen = 0
    while True:
        await trio.sleep(0.01)
        mark_busy(app, samples.busy)
        runs = app.scheduler.stats["status"].runs
        if runs > seen:
            seen = runs
            samples.rss.append(rss_mb())
            samples.heap_blocks.append(sys.getallocatedblocks())
            with store.reading() as duck:
                row = duck.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
            samples.duck_mb.append(int(row[0] if row else 0) / 1e6)
            if upkeep_every and runs % upkeep_every == 0:
                await sink.upkeep(app.clock.now())
            samples.cycle_s.append(app.scheduler.stats["status"].last_duration_s or 0.0)


def mark_busy(app: Appliance, busy: list[list[float]]) -> None:
    """Opens a span when a status or meters cycle starts running, closes it when none runs."""
    running = any(app.scheduler.stats[j].running for j in ("status", "meters"))
    if running and (not busy or len(busy[-1]) == 2):
        busy.append([time.time()])
    elif not running and busy and len(busy[-1]) == 1:
        busy[-1].append(time.time())


def print_slow(probe: Probe, busy: list[list[float]]) -> None:
    """Each HTTP request over 50 ms, with its start relative to the cycles around it."""
    for path, t0, e in probe.samples:
        if e > 0.05:
            print(
                "slow", path, round(e * 1000), [round(t0 - b[0], 3) for b in busy if b[0] - 1 < t0 < b[1] + 1]
            )


def check(figures: dict[str, object], cycles: int, *, p99_limit_ms: float) -> None:
    assert figures["cycles"] in (cycles, cycles + 1)
    assert figures["skipped"] == 0 and figures["overruns"] == 0
    assert figures["answered_last_cycle"] == PRINTERS
    # A run cut at the stop after its write (alerts still running) is not counted in the runs,
    # but its documents were written: one cycle more at most.
    polls = figures["polls"]
    assert figures["documents_written"] in (PRINTERS * polls, PRINTERS * (polls + 1))  # type: ignore[operator]
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
    duck = figures["duckdb_mb"]
    assert isinstance(duck, list) and max(duck) <= STORE_MEMORY_MB, duck


def test_soak_bounded(tmp_path: Path) -> None:
    # The bounded run checks that the endpoints keep answering through every cycle (no error,
    # no stall of a second); the 100 ms p99 is the long form's (docs/operations.md, "Soak"), whose
    # figures depend on how busy the machine is.
    # The daily upkeep and the store's renewal run once too, after the second cycle, while the
    # endpoints are probed.
    figures = soak(tmp_path, interval_s=10.0, cycles=3, upkeep_every=2)
    check(figures, 3, p99_limit_ms=1000)
    assert figures["store_renewals"] >= 1


@pytest.mark.slow  # left out by default (pyproject's addopts); `pytest -m slow tests/service/test_soak.py`
def test_soak_long_form(tmp_path: Path) -> None:
    check(soak(tmp_path, interval_s=60.0, cycles=10), 10, p99_limit_ms=100)


@pytest.mark.slow
def test_soak_memory_plateau(tmp_path: Path) -> None:
    """100 cycles (about 8.5 minutes), across several of DuckDB's checkpoints, with the daily
    upkeep (and the store's renewal) every 20 cycles: the memory of the last quarter is no
    higher than that of the second (the first holds the warm-up)."""
    cycles = 100
    figures = soak(tmp_path, interval_s=5.0, cycles=cycles, upkeep_every=20)
    assert figures["store_renewals"] in (cycles // 20 - 1, cycles // 20)
    check(figures, cycles, p99_limit_ms=1000)
    quarter = cycles // 4

    def quarters(key: str) -> tuple[list[float], list[float]]:
        values = figures[key]
        assert isinstance(values, list) and len(values) >= cycles
        return values[quarter : 2 * quarter], values[-quarter:]

    second, last = quarters("rss_mb")
    assert statistics.median(last) <= statistics.median(second) * 1.03 + 2, (second, last)
    assert max(last) <= max(second) * 1.03 + 2, (second, last)
    # Python's heap: its low points (between the collector's passes) do not climb.
    second, last = quarters("python_heap_blocks")
    assert min(last) <= min(second) * 1.005, (second, last)
    # DuckDB's part is a saw-tooth under the limit: it fell back at least once (a checkpoint).
    duck = figures["duckdb_mb"]
    assert isinstance(duck, list)
    assert any(b < a - 5 for a, b in itertools.pairwise(duck)), duck

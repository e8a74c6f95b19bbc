"""Where the appliance's time and memory go at N printers, taken apart in one process.

The appliance is assembled as ``printwatch run`` assembles it (store, alerts, uplink, poller),
its printers served by ``printwatch simulate`` in another process at nice 19; the bench then
runs one meter read and ``--cycles`` status cycles directly (no scheduler, no HTTP; the
garbage collector paused during each cycle, as the daemon does), and prints:

* per cycle: wall and CPU seconds (and the CPU split into the loop's thread, Python's worker
  threads and native threads), RSS, Python's allocated blocks, DuckDB's own accounting;
* a cProfile of the last status cycle (cumulative and own time, the top functions);
* the per-printer state held between cycles, object by object (the store's ingestor and
  registry, the fleet view, the alerts, the uplink and its parts), each measured by walking its
  containers (``sys.getsizeof`` over dicts, lists, tuples, sets and instance attributes; shared
  objects counted once, modules and functions not at all);
* what ``malloc_trim(0)`` gives back (memory freed but kept by the C allocator).

    python bench/appliance_profile.py --printers 10000 --cycles 2

The uplink points at a closed loopback port: its aggregate and reorder state build as usual,
nothing is sent. bench/appliance_scale.py measures the real process from outside.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import datetime as dt
import gc
import io
import os
import pstats
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from dataclasses import replace
from pathlib import Path

import trio

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printwatch.cli.assembly import Assembled, assemble
from printwatch.config.model import ApplianceConfig, Config, Intervals, SnmpConfig, UplinkConfig, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.scheduler.runner import RunContext
from printwatch.service.appliance import Appliance
from printwatch.service.fairness import manage_gc, release_gc

SIM_LINE = re.compile(r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) ")
SKIP = (types.ModuleType, type, types.FunctionType, types.MethodType, types.BuiltinFunctionType)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def thread_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process so far (``/proc``), by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_by_kind(before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    """The CPU of a stretch split into the loop's thread, Python's worker threads (the store's
    write, the alerts' evaluation, the uplink's database calls) and native threads (the
    engine's, DuckDB's), of the threads alive at its end (the rest of the process's CPU was
    in threads that ended within it: Trio's idle workers retire, DuckDB's come and go)."""
    python = {t.native_id for t in threading.enumerate() if t.native_id is not None}
    split = {"loop": 0.0, "workers": 0.0, "native": 0.0}
    for tid, cpu in after.items():
        kind = "loop" if tid == os.getpid() else "workers" if tid in python else "native"
        split[kind] += cpu - before.get(tid, 0.0)
    return split


def deep_size(obj: object, seen: set[int]) -> int:
    """Bytes of ``obj`` and what it holds (iteratively; ``seen`` is shared between calls)."""
    total, stack = 0, [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, SKIP):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        elif hasattr(o, "__dict__"):
            stack.append(vars(o))
        elif hasattr(o, "__slots__"):
            stack.extend(getattr(o, a) for a in o.__slots__ if hasattr(o, a))
    return total


def held(parts: Assembled) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """(part, MB, its attributes over 1 MB) for the state kept between cycles."""
    store = parts.sink.store
    shared = {id(store), id(store.registry), id(parts.appliance), id(parts.sink)}
    # The poller's answers (documents the consumers refer to, to tell an unchanged one) are the
    # poller's: the other parts' references to them are not counted again.
    answers: set[int] = set()
    cache = getattr(getattr(parts.appliance.poller, "two_step", None), "answers", None)
    if cache is not None:
        deep_size(cache, answers)
    out = []
    for name, part in (
        ("store ingestor", store.ingestor),
        ("device registry", store.registry),
        ("fleet view", parts.appliance.fleet),
        ("alerts", parts.alerts),
        ("uplink", parts.uplink),
        ("poller", parts.appliance.poller),
    ):
        others = shared - {id(part)}
        if name != "poller":
            others |= answers
        size = deep_size(part, set(others)) / 1e6
        attrs = []
        if hasattr(part, "__dict__"):
            for attr, value in vars(part).items():
                mb = deep_size(value, set(others)) / 1e6
                if mb >= 1:
                    attrs.append((attr, round(mb, 1)))
        out.append((name, round(size, 1), attrs))
    return out


def profile_text(profile: cProfile.Profile, order: str, lines: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(lines)
    return out.getvalue()


async def cycles(parts: Assembled, count: int) -> cProfile.Profile:
    app = parts.appliance
    ctx = RunContext("status", dt.datetime.now(dt.UTC), "schedule")
    profile = cProfile.Profile()
    manage_gc()  # as the daemon does: no collection during a cycle, one at its end
    try:
        return await _cycles(parts, app, ctx, profile, count)
    finally:
        release_gc()


async def _cycles(
    parts: Assembled, app: Appliance, ctx: RunContext, profile: cProfile.Profile, count: int
) -> cProfile.Profile:
    for k in range(count + 1):
        t0, c0, threads = time.perf_counter(), time.process_time(), thread_cpu()
        last = k == count
        if last:
            profile.enable()
        await (app.read_meters(ctx) if k == 0 else app.poll_status(ctx))
        if last:
            profile.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        split = cpu_by_kind(threads, thread_cpu())
        gc.collect()
        with parts.sink.store.reading() as duck:
            row = duck.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        duck_mb = (row[0] if row and row[0] else 0) / 1e6
        kind = "meters" if k == 0 else "status" + (" (profiled)" if last else "")
        print(
            f"{kind:18} wall {wall:6.1f} s  cpu {cpu:6.1f} s  rss {rss_mb():5.0f} MB  "
            f"python blocks {sys.getallocatedblocks() / 1e6:.2f} M  duckdb {duck_mb:4.0f} MB  "
            f"cpu: loop {split['loop']:.1f}, workers {split['workers']:.1f}, native {split['native']:.1f}, "
            f"ended {cpu - sum(split.values()):.1f} s",
            flush=True,
        )
    return profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, default=10_000)
    parser.add_argument(
        "--cycles", type=int, default=2, help="status cycles after the meter read (default 2)"
    )
    parser.add_argument("--base", default="127.70.0.1")
    parser.add_argument("--top", type=int, default=25, help="functions shown of each profile order")
    args = parser.parse_args(argv)
    print(f"imports done: rss {rss_mb():.0f} MB, {len(sys.modules)} modules")
    cmd = [sys.executable, "-m", "printwatch.cli.main", "simulate", "--count", str(args.printers)]
    cmd += ["--base", args.base, "--port", "0", "--duration", "3600"]
    sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(19))
    try:
        assert sim.stdout is not None
        m = SIM_LINE.match(sim.stdout.readline())
        if not m:
            raise SystemExit("the simulator did not start")
        first, last, port = m.group(2), m.group(3), int(m.group(4))
        with tempfile.TemporaryDirectory(prefix="printwatch-profile-") as tmp:
            config = Config(
                appliance=replace(ApplianceConfig(), state_dir=Path(tmp)),
                snmp=SnmpConfig(timeout_s=1.0, retries=2),
                devices=tuple(expand_devices(f"{first}-{last}:{port}")),
                intervals=replace(Intervals(), status_s=60, meters_s=900),
                uplink=UplinkConfig(url="https://127.0.0.1:9/api", site_id="profile", token="t" * 24),
                web=WebConfig(port=0),
            )
            parts = assemble(config, clock=SystemClock(), state=MemoryState(), seed="profile")
            print(f"assembled: rss {rss_mb():.0f} MB, {len(sys.modules)} modules", flush=True)
            try:
                profile = trio.run(cycles, parts, args.cycles)
                print(profile_text(profile, "cumulative", args.top))
                print(profile_text(profile, "tottime", args.top))
                print("held between cycles:")
                for name, mb, attrs in held(parts):
                    detail = ", ".join(f"{a} {s} MB" for a, s in attrs)
                    print(f"  {name:16} {mb:7.1f} MB  {detail}")
                before = rss_mb()
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                print(f"malloc_trim(0): rss {before:.0f} -> {rss_mb():.0f} MB")
            finally:
                parts.sink.store.close()
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

r"""The whole appliance at scale: the real ``printwatch run`` process polling N simulated printers.

Per fleet size N, in a temporary folder:

* the printers: ``printwatch simulate`` (the built-in models) in a process of its own at nice 19,
  standing in for other machines (``--dynamics`` adds their losses, slow answers, nights off);
* a local collector (HTTPS, a self-signed certificate pinned by the appliance, one site with its
  enrolment token) in this process, as ``printwatch demo`` makes it;
* the appliance: ``printwatch run --config FILE`` with a configuration file naming the printers as
  address ranges, a status poll every minute and meter reads every 15 minutes, its DuckDB store,
  alerts, the uplink and the HTTP server on loopback;
* a client asking ``/health`` (every 0.25 s) and ``/metrics`` (every second, taking gzip as
  Prometheus does), and one logged in
  to the dashboard asking its fleet page (every 5 s), timing each answer.

It measures, per status cycle (a run of the scheduler's ``status`` job, read from ``/metrics``):
wall seconds, the appliance's CPU seconds in that window (``/proc/PID/stat``, sampled every
0.1 s, all its threads), CPU per printer, the largest RSS, the store's write time, timeouts; over
the whole run the HTTP latencies (p50, p99) split into "during a cycle" and "between cycles", and
the appliance's CPU per second when idle (which the HTTP client's own requests cost).

    python bench/appliance_scale.py --printers 1000 10000 --cycles 3
    python bench/appliance_scale.py --printers 10000 --dynamics --cycles 5 \
        --json bench/results/appliance_scale.json

Every process it starts is stopped at the end (SIGTERM, then SIGKILL), and every wait is bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import ipaddress
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printwatch.cli.demo_collector import DemoCollector
from printwatch.config.targets import MAX_EXPANDED

from tests.support.dashboard import csrf_of, log_in

SIM_LINE = re.compile(r"serving (\d+) printers on (127\.[\d.]+)-(127\.[\d.]+) port (\d+) ")
METRIC = re.compile(r"^(printwatch_[a-z_]+)(?:\{([^}]*)\})? (\S+)$", re.M)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port(kind: int) -> int:
    import socket

    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_sample(pid: int) -> tuple[float, int]:
    """(CPU seconds of the process and all its threads, RSS bytes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    rss = int(fields[21]) * PAGE
    return cpu, rss


def metrics_of(text: str) -> dict[str, float]:
    """``name`` or ``name{labels}`` -> value, for printwatch's own families."""
    out = {}
    for name, labels, value in METRIC.findall(text):
        try:
            out[f"{name}{{{labels}}}" if labels else name] = float(value)
        except ValueError:
            continue
    return out


@dataclass
class Sample:
    t: float
    cpu_s: float
    rss: int


@dataclass
class Run:
    """What one fleet size produced."""

    printers: int
    dynamics: bool
    samples: list[Sample] = field(default_factory=list)
    http: list[tuple[str, float, float, bool]] = field(default_factory=list)  # path, start, s, ok
    scrapes: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    started: float = 0.0
    uploads: dict[str, int] = field(default_factory=dict)  # the collector's accepted, rejected
    slow_steps: list[tuple[float, float, str]] = field(default_factory=list)  # ms, cpu ms, line


class Simulator:
    """``printwatch simulate`` at nice 19: (first, last, port) once it serves."""

    def __init__(self, count: int, base: str, dynamics: bool, duration_s: float) -> None:
        port = free_port(2)  # SOCK_DGRAM
        cmd = [sys.executable, "-m", "printwatch.cli.main", "simulate", "--count", str(count)]
        cmd += ["--base", base, "--port", str(port), "--duration", str(duration_s)]
        if dynamics:
            cmd.append("--dynamics")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(19)
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        m = SIM_LINE.match(line)
        if not m:
            self.stop()
            raise SystemExit(
                f"the simulator did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.first, self.last, self.port = m.group(2), m.group(3), int(m.group(4))

    def stop(self) -> None:
        stop(self.proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 30 s; its pipes closed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class CollectorThread:
    """The demo's collector served from a thread of this process until :meth:`stop`."""

    def __init__(self, folder: Path, key_file: Path) -> None:
        self.collector = DemoCollector.prepare(folder, key_file=key_file)
        self._cancel: trio.CancelScope | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise SystemExit("the collector did not start within 30 s")

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self._cancel = scope
            async with trio.open_nursery() as nursery:
                await nursery.start(self.collector.serve)
                self._ready.set()

    def stop(self) -> None:
        if self._cancel is not None:
            trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
        self._thread.join(timeout=10)


def target_ranges(first: str, last: str, port: int) -> str:
    """The fleet as address ranges a configuration takes (at most ``MAX_EXPANDED`` addresses a
    range), written as TOML strings."""
    start, end = int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last))
    specs = []
    for lo in range(start, end + 1, MAX_EXPANDED):
        hi = min(lo + MAX_EXPANDED - 1, end)
        specs.append(f'"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}:{port}"')
    return ", ".join(specs)


def write_config(folder: Path, sim: Simulator, collector: DemoCollector, web_port: int) -> Path:
    up = collector.uplink
    text = f"""
[appliance]
state_dir = "{folder / "state"}"

[snmp]
communities = ["public"]
timeout_s = 1.0
retries = 2

[devices]
targets = [{target_ranges(sim.first, sim.last, sim.port)}]

[intervals]
status_minutes = 1
meters_hours = 0.25
jitter = 0

[uplink]
url = "{up.url}"
site_id = "{up.site_id}"
token = "{up.token}"
pin = "{up.pin}"

[web]
host = "127.0.0.1"
port = {web_port}
tls = "off"
"""
    path = folder / "printwatch.toml"
    path.write_text(text)
    return path


def probe(base: str, run: Run, stop_at: threading.Event) -> None:
    """/health every 0.25 s, /metrics every second (its families kept; asking for gzip, as
    Prometheus does), until ``stop_at``."""
    next_metrics = 0.0
    while not stop_at.wait(0.25):
        paths = ["/health"]
        if time.monotonic() >= next_metrics:
            paths.append("/metrics")
            next_metrics = time.monotonic() + 1.0
        for path in paths:
            t0 = time.monotonic()
            try:
                asked = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(asked, timeout=10) as r:
                    raw = r.read()
                    ok = r.status == 200
                    zipped = r.headers.get("Content-Encoding") == "gzip"
                body = (gzip.decompress(raw) if zipped else raw).decode()
            except OSError:
                ok, body = False, ""
            run.http.append((path, t0, time.monotonic() - t0, ok))
            if path == "/metrics" and ok:
                run.scrapes.append((t0, metrics_of(body)))


FLEET_EVERY_S = 5.0


def dashboard_session(base: str, state_dir: Path, limit_s: float = 60) -> httpx.Client:
    """A logged-in dashboard session: the first-run password (``state_dir/first-password.txt``),
    changed as the dashboard asks at the first login. Done before the samples start, so the three
    password hashes (128 MiB each, for an instant) are not in the run's RSS."""
    first = state_dir / "first-password.txt"
    deadline = time.monotonic() + limit_s
    while not first.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{first}: not written within {limit_s:.0f} s")
        time.sleep(0.2)
    password = first.read_text().strip()
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    try:
        landed = log_in(client, password)
        new = "bench-" + os.urandom(12).hex()
        changed = client.post(
            "/settings/password",
            data={"current": password, "new": new, "again": new, "csrf": csrf_of(landed.text)},
        )
        if changed.status_code != 200 or "Password changed" not in changed.text:
            raise SystemExit(f"the password change answered {changed.status_code}")
    except BaseException:
        client.close()
        raise
    return client


def fleet_probe(client: httpx.Client, run: Run, stop_at: threading.Event) -> None:
    """The dashboard's fleet page (its first page, the default sort) at once, then every
    ``FLEET_EVERY_S`` (a short run, whose second status run comes seconds after the first, still
    asks it once)."""
    while True:
        t0 = time.monotonic()
        try:
            r = client.get("/fleet", timeout=10)
            ok = r.status_code == 200 and "<table" in r.text
        except httpx.HTTPError:
            ok = False
        run.http.append(("/fleet", t0, time.monotonic() - t0, ok))
        if stop_at.wait(FLEET_EVERY_S):
            return


def sample(pid: int, run: Run, stop_at: threading.Event) -> None:
    while not stop_at.wait(0.1):
        try:
            cpu, rss = proc_sample(pid)
        except OSError:
            return
        run.samples.append(Sample(time.monotonic(), cpu, rss))


def wait_health(base: str, proc: subprocess.Popen[Any], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"printwatch run exited with {proc.returncode} before answering /health")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"printwatch run did not answer /health within {limit_s:.0f} s")


def profile(pid: int, out: Path, seconds: float) -> subprocess.Popen[Any] | None:
    """py-spy (``pip install py-spy``; the bench extra has it) sampling every thread of the
    appliance for ``seconds``, in collapsed-stack form (one line per stack: frames and a count)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("no py-spy beside this interpreter: no profile", file=sys.stderr)
        return None
    cmd = [str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50"]
    cmd += ["--format", "raw", "--output", str(out), "--threads", "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(
    printers: int,
    *,
    dynamics: bool,
    cycles: int,
    base: str,
    limit_s: float,
    profile_to: Path | None = None,
    profile_after: int = 2,
    slow_step_ms: float | None = None,
) -> Run:
    run = Run(printers, dynamics)
    with tempfile.TemporaryDirectory(prefix="printwatch-scale-") as tmp:
        folder = Path(tmp)
        (folder / "state").mkdir(mode=0o700)
        sim = Simulator(printers, base, dynamics, duration_s=limit_s + 120)
        collector = CollectorThread(folder / "collector", key_file=folder / "state" / "uplink.key")
        web_port = free_port(1)  # SOCK_STREAM
        config = write_config(folder, sim, collector.collector, web_port)
        cmd = [sys.executable, "-m", "printwatch.cli.main", "run", "--config", str(config)]
        env = dict(os.environ)
        if slow_step_ms is not None:
            # imported when asked: a tree from before the diagnostic runs without it
            from printwatch.service.slowsteps import VARIABLE

            env[VARIABLE] = str(slow_step_ms)
        with open(folder / "run.log", "w") as log_file:
            appliance = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
        url = f"http://127.0.0.1:{web_port}"
        stop_at = threading.Event()
        client: httpx.Client | None = None
        threads: list[threading.Thread] = []
        try:
            wait_health(url, appliance, 60)
            client = dashboard_session(url, folder / "state")
            run.started = time.monotonic()
            threads += [
                threading.Thread(target=probe, args=(url, run, stop_at), daemon=True),
                threading.Thread(target=fleet_probe, args=(client, run, stop_at), daemon=True),
                threading.Thread(target=sample, args=(appliance.pid, run, stop_at), daemon=True),
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + limit_s
            spy: subprocess.Popen[Any] | None = None
            wants_profile = profile_to is not None
            while time.monotonic() < deadline and appliance.poll() is None:
                time.sleep(1)
                if profile_to is not None and wants_profile and status_runs(run) >= profile_after:
                    spy, wants_profile = profile(appliance.pid, profile_to, 65), False
                if status_runs(run) >= cycles:
                    break
            if spy is not None:
                spy.wait(timeout=120)
        finally:
            app = getattr(collector.collector, "app", None)
            run.uploads = dict(app.state.stats) if app is not None else {}
            stop_at.set()
            for t in threads:
                t.join(timeout=15)
            if client is not None:
                client.close()
            stop(appliance)
            sim.stop()
            collector.stop()
            run.slow_steps = slow_steps_of((folder / "run.log").read_text())
            # Printed here, so a run that never answered /health still says why.
            if appliance.returncode not in (0, -signal.SIGTERM):
                log = (folder / "run.log").read_text()[-2000:]
                print(f"printwatch run exited {appliance.returncode}:\n{log}", file=sys.stderr)
    return run


SLOW_STEP = re.compile(r"slow step ([\d.]+) ms \(cpu ([\d.]+) ms\) (.*)$")


def slow_steps_of(log: str) -> list[tuple[float, float, str]]:
    """The daemon's slow-step lines (``--slow-steps``): (wall ms, cpu ms, the rest)."""
    found = (SLOW_STEP.search(line) for line in log.splitlines() if "printwatch.slowsteps" in line)
    return [(float(m.group(1)), float(m.group(2)), m.group(3)) for m in found if m]


def status_runs(run: Run) -> int:
    if not run.scrapes:
        return 0
    return int(run.scrapes[-1][1].get('printwatch_job_runs_total{job="status"}', 0))


def cycle_windows(run: Run) -> list[tuple[float, float]]:
    """(start, end) of each status run seen in the scrapes, from the running gauge's edges."""
    windows, start = [], None
    key = 'printwatch_job_running{job="status"}'
    for t, m in run.scrapes:
        running = m.get(key, 0) >= 1
        if running and start is None:
            start = t
        elif not running and start is not None:
            windows.append((start, t))
            start = None
    return windows


def cpu_between(run: Run, a: float, b: float) -> float:
    inside = [s for s in run.samples if a <= s.t <= b]
    return inside[-1].cpu_s - inside[0].cpu_s if len(inside) >= 2 else 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def status_cycles(run: Run) -> list[dict[str, Any]]:
    """One record per status run, read from the scrape after it ended: the scheduler's own wall
    and CPU figures for it (``job_last_duration_seconds``, ``job_last_cpu_seconds``), the largest
    and smallest RSS since the previous one, the store's write and its renewals so far, new
    timeouts, and whether the meter read or the upload ran beside it."""
    cycles: list[dict[str, Any]] = []
    before: dict[str, float] = {}
    since = run.started
    for t, m in run.scrapes:
        runs = m.get('printwatch_job_runs_total{job="status"}', 0)
        if runs > before.get("runs", 0):
            others = [
                m.get(f'printwatch_job_runs_total{{job="{job}"}}', 0) != before.get(job, 0)
                or m.get(f'printwatch_job_running{{job="{job}"}}', 0) >= 1
                for job in ("meters", "upload")
            ]
            rss = [s.rss for s in run.samples if since <= s.t <= t]
            wall = m.get('printwatch_job_last_duration_seconds{job="status"}', float("nan"))
            cpu = m.get('printwatch_job_last_cpu_seconds{job="status"}', float("nan"))
            cycles.append(
                {
                    "run": int(runs),
                    "seen_at_s": round(t - run.started, 1),  # the scrape after it ended
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 3),
                    "cpu_ms_per_printer": round(1000 * cpu / run.printers, 4),
                    "rss_mb_max": round(max(rss) / 1e6, 1) if rss else None,
                    "rss_mb_min": round(min(rss) / 1e6, 1) if rss else None,
                    "store_renewals": int(m.get("printwatch_store_renewals_total", 0)),
                    "store_write_s": round(m.get("printwatch_store_last_write_seconds", float("nan")), 3),
                    "new_timeouts": int(
                        m.get("printwatch_poll_timeouts_total", 0) - before.get("timeouts", 0)
                    ),
                    "beside": [job for job, ran in zip(("meters", "upload"), others, strict=True) if ran],
                }
            )
            since = t
        before = {
            "runs": runs,
            "timeouts": m.get("printwatch_poll_timeouts_total", 0),
            "meters": m.get('printwatch_job_runs_total{job="meters"}', 0),
            "upload": m.get('printwatch_job_runs_total{job="upload"}', 0),
        }
    return cycles


def rss_trace(run: Run) -> list[list[float]]:
    """[seconds since the run began, MB]: the largest RSS of each second, to see when it grows."""
    largest: dict[int, int] = {}
    for s in run.samples:
        second = int(s.t - run.started)
        largest[second] = max(largest.get(second, 0), s.rss)
    return [[second, round(rss / 1e6, 1)] for second, rss in largest.items()]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(1000 * pct(values, 0.5), 1),
        "p99": round(1000 * pct(values, 0.99), 1),
    }


def summarise(run: Run) -> dict[str, Any]:
    cycles = status_cycles(run)
    # The first run starts with the process (enrolment, first writes, the meter read beside it):
    # the steady figures are the later runs with nothing else beside them, else every later run.
    steady = [c for c in cycles[1:] if not c["beside"]] or cycles[1:] or cycles
    windows = cycle_windows(run)
    last = run.scrapes[-1][1] if run.scrapes else {}

    def in_cycle(t: float) -> bool:
        return any(a <= t <= b for a, b in windows)

    health_in = [s for p, t, s, _ in run.http if p == "/health" and in_cycle(t)]
    health_out = [s for p, t, s, _ in run.http if p == "/health" and not in_cycle(t)]
    metrics_all = [s for p, _, s, _ in run.http if p == "/metrics"]
    fleet_in = [s for p, t, s, _ in run.http if p == "/fleet" and in_cycle(t)]
    fleet_out = [s for p, t, s, _ in run.http if p == "/fleet" and not in_cycle(t)]
    idle = [(a, b) for (_, a), (b, _) in itertools.pairwise(windows)]
    idle_cpu = sum(cpu_between(run, a, b) for a, b in idle)
    idle_s = sum(b - a for a, b in idle)
    return {
        "printers": run.printers,
        "dynamics": run.dynamics,
        "cycles": cycles,
        "steady_cycles": len(steady),
        "median_cycle_wall_s": statistics.median(c["wall_s"] for c in steady) if steady else None,
        "median_cycle_cpu_s": statistics.median(c["cpu_s"] for c in steady) if steady else None,
        "median_cpu_ms_per_printer": statistics.median(c["cpu_ms_per_printer"] for c in steady)
        if steady
        else None,
        "rss_mb_max": round(max(s.rss for s in run.samples) / 1e6, 1) if run.samples else None,
        "rss_mb_last": round(run.samples[-1].rss / 1e6, 1) if run.samples else None,
        "rss_trace": rss_trace(run),
        "idle_cpu_per_s": round(idle_cpu / idle_s, 4) if idle_s else None,
        "timeouts": last.get("printwatch_poll_timeouts_total"),
        "skipped": last.get('printwatch_job_skipped_total{job="status"}'),
        "alerts_open": last.get("printwatch_alerts_open"),
        "uploads": run.uploads,
        "http": {
            "health_during_cycles_ms": ms(health_in),
            "health_between_ms": ms(health_out),
            "metrics_ms": ms(metrics_all),
            "fleet_during_cycles_ms": ms(fleet_in),
            "fleet_between_ms": ms(fleet_out),
            "errors": sum(1 for _, _, _, ok in run.http if not ok),
        },
        "slow_steps": {
            "count": len(run.slow_steps),
            "largest": [
                f"{w:.1f} ms (cpu {c:.1f}) {rest}" for w, c, rest in sorted(run.slow_steps, reverse=True)[:12]
            ],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--cycles", type=int, default=3, help="status cycles per fleet size (default 3)")
    parser.add_argument("--dynamics", action="store_true", help="the simulator's losses and slow answers")
    parser.add_argument("--base", default="127.60.0.1", help="the fleet's first address")
    parser.add_argument(
        "--limit", type=float, default=600, metavar="S", help="longest run per size (default 600 s)"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the figures here")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="py-spy one status interval: DIR/profile-N.txt, collapsed stacks",
    )
    parser.add_argument(
        "--profile-after",
        type=int,
        default=2,
        metavar="RUNS",
        help="start the profile when this many status runs have ended (default 2: the first run "
        "registers every printer, the second stores every document anew; the third is steady)",
    )
    parser.add_argument(
        "--slow-steps",
        type=float,
        default=None,
        metavar="MS",
        help="log the daemon's loop steps of MS or more (PRINTWATCH_SLOW_STEP_MS, docs/operations.md) "
        "and report the largest",
    )
    args = parser.parse_args(argv)
    if args.slow_steps is not None and not args.slow_steps > 0:
        parser.error("--slow-steps takes a number of milliseconds above 0")
    if args.profile and args.cycles <= args.profile_after:
        parser.error(f"--profile after {args.profile_after} runs needs --cycles above that")
    results: dict[str, Any] = {
        "measured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "runs": [],
    }
    for n in args.printers:
        print(
            f"{n:,} printers, {'with' if args.dynamics else 'without'} dynamics:",
            f"up to {args.cycles} status cycles",
            flush=True,
        )
        profile_to = args.profile / f"profile-{n}.txt" if args.profile else None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        run = measure(
            n,
            dynamics=args.dynamics,
            cycles=args.cycles,
            base=args.base,
            limit_s=args.limit,
            profile_to=profile_to,
            profile_after=args.profile_after,
            slow_step_ms=args.slow_steps,
        )
        summary = summarise(run)
        print(json.dumps(summary, indent=1), flush=True)
        results["runs"].append(summary)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

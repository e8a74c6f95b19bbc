"""``printwatch demo``: the appliance's main job on embedded defaults.

Simulated printers on loopback, from the package's built-in printer models
(:mod:`printwatch.catalogue`: no file outside the package is needed; ``--recordings DIR`` serves
``.snmprec`` recordings instead), the scheduler polling them on a short interval, the
DuckDB history in a temporary folder, the HTTP server on 127.0.0.1:8080, and a local collector
(:mod:`printwatch.cli.demo_collector`) receiving the uplink. First, a month of history: the same
pipeline run against the simulator in accelerated time (:mod:`printwatch.cli.demo_history`), with
a progress line; then real time. It prints what it started, where, and how to stop;
``--duration S`` stops it by itself (counted from the real-time start).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import trio

from printwatch import PrintwatchError, catalogue
from printwatch.cli.assembly import Assembled, assemble
from printwatch.cli.demo_collector import DemoCollector
from printwatch.cli.demo_history import HistoryResult, make_history
from printwatch.cli.options import Subparsers, UsageError
from printwatch.cli.run import setup_logging
from printwatch.clock import utcnow
from printwatch.config.model import ApplianceConfig, Config, Intervals, Network, SnmpConfig, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.service.daemon import run_until_stopped
from printwatch.sim import Simulator
from printwatch.store import StoreError

log = logging.getLogger(__name__)


def default_recordings() -> Path:
    """``PRINTWATCH_RECORDINGS``, else ``shared/recordings/librenms/snmprec`` beside the project
    (the tests' recordings; the demo itself serves the built-in models)."""
    env = os.environ.get("PRINTWATCH_RECORDINGS")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[4] / "shared" / "recordings" / "librenms" / "snmprec"
    if beside.exists():
        return beside
    return Path.cwd().parent / "shared" / "recordings" / "librenms" / "snmprec"


def covering_network(first: str, last: str) -> ipaddress.IPv4Network:
    """The smallest network holding every address from ``first`` to ``last``."""
    a, b = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
    prefix = 32 - (int(a) ^ int(b)).bit_length()
    return ipaddress.IPv4Network(f"{a}/{prefix}", strict=False)


def demo_config(sim: Simulator, state_dir: Path, *, interval_s: float, web_port: int) -> Config:
    """The demo's configuration: the network the simulated printers are on (discovery), the
    printers themselves as devices too (discovery keeps only agents it can tell are printers),
    short intervals."""
    return Config(
        appliance=ApplianceConfig(state_dir=state_dir),
        snmp=SnmpConfig(communities=("public",), timeout_s=0.5, retries=1),
        networks=(Network(covering_network(sim.first, sim.last)),),
        devices=tuple(expand_devices(f"{sim.first}-{sim.last}:{sim.port}")),
        intervals=replace(Intervals(), status_s=interval_s, meters_s=4 * interval_s, jitter=0.1),
        web=WebConfig(host="127.0.0.1", port=web_port, tls="off"),  # the demo: plain HTTP on loopback
    )


#: The demo's printers: every one that is on answers (no lossy or slow ones); a small share of
#: the fleet is switched off every night (19:00 to 07:00, local time: :func:`demo_dynamics`),
#: and jams, open doors, empty toner and offline hours come and go as the simulator's dynamics
#: say, at rates an office fleet sees: 24 to 600 pages a day (the simulator's default, up to
#: 2,900, is a print room's: its toners emptied in days, and the month's alerts ran to 40 a
#: printer), a printer jams about once in four days (0.5% of the half-hours), leaves a door open
#: about once a week, is offline 0.5% of the hours.
DEMO_DYNAMICS = {
    "pages_per_hour_min": 1.0,
    "pages_per_hour_max": 25.0,
    "lossy_share": 0.0,
    "slow_share": 0.0,
    "night_share": 0.06,
    "offline_rate": 0.005,
    "jam_rate": 0.005,
    "door_rate": 0.003,
}


def demo_dynamics(now: dt.datetime) -> dict[str, float]:
    """:data:`DEMO_DYNAMICS` for a simulator made at ``now`` (timezone-aware: the nights are in
    its zone): simulated time 0 is ``now``'s time of day, so that the printers switched off at
    night are off at night on the dashboard's clock, in the history (whose days end at ``now``)
    as in real time."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {**DEMO_DYNAMICS, "day_offset_s": (now - midnight).total_seconds()}


#: Days of history made at start (:mod:`printwatch.cli.demo_history`).
HISTORY_DAYS = 30


def plural(n: int, noun: str) -> str:
    """``1 meter read``, ``61 meter reads``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def history_progress(out: TextIO) -> Callable[[int, int, int], None]:
    """Prints ``history: day 12 of 30, 1,840 polls``: over itself on a terminal, else a line
    every fifth day and at the last."""
    tty = out.isatty()

    def show(day: int, days: int, polls: int) -> None:
        line = f"history: day {day} of {days}, {polls:,} polls"
        if tty:
            print(f"\r{line}", end="\n" if day == days else "", file=out, flush=True)
        elif day % 5 == 0 or day == days:
            print(line, file=out, flush=True)

    return show


def run_demo(
    *,
    count: int,
    duration_s: float | None,
    interval_s: float,
    web_port: int,
    recordings: Path | None = None,
    history_days: int = HISTORY_DAYS,
    out: TextIO = sys.stdout,
) -> int:
    """Exit status 0 after a clean stop, 1 when something cannot start (said on stderr).

    The simulated printers are the built-in models, or the ``recordings`` when given. First
    ``history_days`` of history are made in accelerated time (none: 0), then the demo runs in
    real time; ``duration_s`` counts from then."""
    source = f"recordings from {recordings}" if recordings is not None else "built-in models"
    # With a history, simulated time keeps step with the appliance's clock (real time after
    # it); without, meters and supplies move 60x faster so that something happens.
    time_scale = 1.0 if history_days > 0 else 60.0
    now = utcnow()
    options: dict[str, Any] = {
        "count": count,
        "base": "127.20.0.1",
        "port": 0,
        "dynamics": demo_dynamics(now.astimezone()),  # nights in the machine's time zone
        "time_scale": time_scale,
    }
    try:
        sim = catalogue.simulator(**options) if recordings is None else Simulator(recordings, **options)
        sim.start()
    except (ValueError, OSError) as err:
        print(f"printwatch demo: cannot start the simulated printers ({source}): {err}", file=sys.stderr)
        return 1
    state_dir = Path(tempfile.mkdtemp(prefix="printwatch-demo-"))
    config = demo_config(sim, state_dir, interval_s=interval_s, web_port=web_port)
    store_path = config.appliance.store_path
    collector: DemoCollector | None = None
    parts: Assembled | None = None
    history: HistoryResult | None = None
    why = "error"
    try:
        collector = DemoCollector.prepare(state_dir / "collector", key_file=state_dir / "uplink.key")
        config = replace(config, uplink=collector.uplink)
        state = MemoryState()  # the history's last slots: the real-time start is a restart

        def started(address: tuple[str, int] | None) -> None:
            assert parts is not None and collector is not None
            web = parts.web
            url = web.url(address) if address else "(no HTTP server)"
            password = web.first_password or (history.first_password if history else None)
            pace = "in real time" if time_scale == 1.0 else f"{time_scale:g}x faster than real time"
            made = (
                f"  history: {history.days} days made in {history.seconds:.0f} s by the pipeline below in "
                f"accelerated time ({history.documents:,} poll documents, "
                f"{plural(history.status_cycles, 'status poll')}, "
                f"{plural(history.meter_reads, 'meter read')}; alerts {history.alerts_opened:,} opened, "
                f"{history.alerts_closed:,} closed; {history.accepted} uploads accepted)\n"
                if history is not None
                else ""
            )
            print(
                f"printwatch demo\n"
                f"  simulated printers: {sim.count} on {sim.first}-{sim.last} UDP port {sim.port} "
                f"({len(sim.recordings)} {source}; meters and supplies move {pace})\n"
                + made
                + f"  discovery: {config.networks[0].cidr} (SNMP on port {sim.port}) now, then weekly; the "
                f"simulated printers are configured as devices too\n"
                f"  polling: status every {interval_s:g} s, meters every {4 * interval_s:g} s "
                f"(SNMP v2c, community public)\n"
                f"  store: {parts.sink.describe()} (a snapshot after each meter read:\n"
                f"    printwatch sql --store {store_path} 'SELECT * FROM devices')\n"
                f"  alerts: after each poll (no e-mail or webhooks in the demo):\n"
                f"    printwatch sql --store {store_path} 'SELECT * FROM alerts WHERE open'\n"
                f"  uplink: signed uploads to the local collector https://127.0.0.1:{collector.port} "
                f"(site {collector.uplink.site_id}, key pinned):\n"
                f"    curl -sk -H 'Authorization: Bearer {collector.api_token}' "
                f"https://127.0.0.1:{collector.port}/api/devices\n"
                f"    printwatch uplink log --store {store_path}\n"
                f"  dashboard: {url}/  user admin, first-run password {password} "
                f"(shown once; change it at the first login)\n"
                f"  HTTP: {url}/health  {url}/metrics  (POST {url}/api/assist/DEVICE)\n"
                f"  assist: printwatch assist {sim.first}:{sim.port} --url {url}\n"
                f"  stop: Ctrl-C, or kill -TERM {os.getpid()}"
                + (f" (stops by itself after {duration_s:g} s)" if duration_s is not None else ""),
                file=out,
                flush=True,
            )

        async def main() -> str:
            nonlocal parts, history
            assert collector is not None
            async with trio.open_nursery() as nursery:
                await nursery.start(collector.serve)
                if history_days > 0:
                    print(
                        f"printwatch demo: making {history_days} days of history for {sim.count} printers "
                        "(the whole pipeline in accelerated time)",
                        file=out,
                        flush=True,
                    )
                    history = await make_history(
                        config,
                        sim,
                        end=utcnow(),
                        days=history_days,
                        state=state,
                        progress=history_progress(out),
                        accepted=collector.accepted,
                    )
                parts = assemble(
                    config,
                    clock=SystemClock(max_step_s=1.0),
                    state=state,
                    seed="demo",
                    local_address="127.0.0.1",
                    discovery_port=sim.port,
                )
                stopped = await run_until_stopped(
                    parts.appliance, http=parts.web.serve, duration_s=duration_s, on_started=started
                )
                nursery.cancel_scope.cancel()
            return stopped

        why = trio.run(main)
        if parts is not None:
            parts.web.dashboard.sessions.save()  # the sessions' seen times since the last write
    except (OSError, ValueError, RuntimeError, StoreError, PrintwatchError) as err:
        print(f"printwatch demo: {err}", file=sys.stderr)
        return 1
    finally:
        stats = sim.stop()
        if collector is not None:
            collector.close()
    if parts is None:
        return 1
    appliance, alerts = parts.appliance, parts.alerts
    status = appliance.scheduler.statistics()["status"]
    answered = sum(1 for d in appliance.fleet.values() if d.get("reachable"))
    print(
        f"stopped ({why}): {status.runs} status cycles, {appliance.sink_stats.documents} poll documents "
        f"written to {store_path}, {answered} of {len(appliance.devices())} printers answering; "
        f"the simulator answered {stats['answered']} requests; "
        f"alerts: {alerts.stats.opened} opened, {alerts.stats.closed} closed, {alerts.stats.open} open; "
        f"the collector accepted {collector.accepted() if collector else 0} signed uploads",
        file=out,
        flush=True,
    )
    return 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Simulated printers on loopback (the package's built-in printer models, or "
        "--recordings), polled on a short interval into a history in a temporary folder, "
        "the HTTP server on 127.0.0.1:8080. Prints what it started, where, and how to stop.",
    )
    parser.add_argument("--count", type=int, default=300, help="simulated printers (default 300)")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--interval", type=float, default=30.0, metavar="S", help="status poll every S seconds (default 30)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="HTTP port on 127.0.0.1 (default 8080; 0: any free)"
    )
    parser.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help="serve a directory of .snmprec files instead of the built-in models",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_DAYS,
        metavar="N",
        help=f"days of history made at start, in accelerated time (default {HISTORY_DAYS}; 0: none)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.interval <= 0 or args.history_days < 0:
        raise UsageError("demo: --count must be at least 1, --interval positive, --history-days 0 or more")
    setup_logging(logging.WARNING)
    return run_demo(
        count=args.count,
        duration_s=args.duration,
        interval_s=args.interval,
        web_port=args.port,
        recordings=args.recordings,
        history_days=args.history_days,
    )

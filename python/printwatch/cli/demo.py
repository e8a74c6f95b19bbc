"""``printwatch demo``: the appliance's main job on embedded defaults.

Simulated printers on loopback, from the package's built-in printer models
(:mod:`printwatch.catalogue`: no file outside the package is needed; ``--recordings DIR`` serves
``.snmprec`` recordings instead), the scheduler polling them on a short interval, the
DuckDB history in a temporary folder, the HTTP server on 127.0.0.1:8080, and a local collector
(:mod:`printwatch.cli.demo_collector`) receiving the uplink. It prints what it started, where, and
how to stop; ``--duration S`` stops it by itself.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import trio

from printwatch import PrintwatchError, catalogue
from printwatch.cli.assembly import assemble
from printwatch.cli.demo_collector import DemoCollector
from printwatch.cli.options import Subparsers, UsageError
from printwatch.cli.run import setup_logging
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


def run_demo(
    *,
    count: int,
    duration_s: float | None,
    interval_s: float,
    web_port: int,
    recordings: Path | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Exit status 0 after a clean stop, 1 when something cannot start (said on stderr).

    The simulated printers are the built-in models, or the ``recordings`` when given."""
    source = f"recordings from {recordings}" if recordings is not None else "built-in models"
    options: dict[str, Any] = {
        "count": count,
        "base": "127.20.0.1",
        "port": 0,
        "dynamics": True,
        "time_scale": 60.0,
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
    try:
        collector = DemoCollector.prepare(state_dir / "collector", key_file=state_dir / "uplink.key")
        config = replace(config, uplink=collector.uplink)
        parts = assemble(
            config,
            clock=SystemClock(max_step_s=1.0),
            state=MemoryState(),
            seed="demo",
            local_address="127.0.0.1",
            discovery_port=sim.port,
        )
        appliance, web, alerts = parts.appliance, parts.web, parts.alerts

        def started(address: tuple[str, int] | None) -> None:
            url = web.url(address) if address else "(no HTTP server)"
            print(
                f"printwatch demo\n"
                f"  simulated printers: {sim.count} on {sim.first}-{sim.last} UDP port {sim.port} "
                f"({len(sim.recordings)} {source}; meters and supplies move "
                f"60x faster than real time)\n"
                f"  discovery: {config.networks[0].cidr} (SNMP on port {sim.port}) now, then weekly; the "
                f"simulated printers are configured as devices too\n"
                f"  polling: status every {interval_s:g} s, meters every {4 * interval_s:g} s "
                f"(SNMP v2c, community public)\n"
                f"  history: {appliance.sink.describe()} (a snapshot after each meter read:\n"
                f"    printwatch sql --store {store_path} 'SELECT * FROM devices')\n"
                f"  alerts: after each status cycle (no e-mail or webhooks in the demo):\n"
                f"    printwatch sql --store {store_path} 'SELECT * FROM alerts WHERE open'\n"
                f"  uplink: signed uploads to the local collector https://127.0.0.1:{collector.port} "
                f"(site {collector.uplink.site_id}, key pinned):\n"
                f"    curl -sk -H 'Authorization: Bearer {collector.api_token}' "
                f"https://127.0.0.1:{collector.port}/api/devices\n"
                f"    printwatch uplink log --store {store_path}\n"
                f"  dashboard: {url}/  user admin, first-run password {web.first_password} "
                f"(shown once; change it at the first login)\n"
                f"  HTTP: {url}/health  {url}/metrics  (POST {url}/api/assist/DEVICE)\n"
                f"  assist: printwatch assist {sim.first}:{sim.port} --url {url}\n"
                f"  stop: Ctrl-C, or kill -TERM {os.getpid()}"
                + (f" (stops by itself after {duration_s:g} s)" if duration_s is not None else ""),
                file=out,
                flush=True,
            )

        async def main() -> str:
            assert collector is not None
            async with trio.open_nursery() as nursery:
                await nursery.start(collector.serve)
                why = await run_until_stopped(
                    appliance,
                    web=config.web,
                    duration_s=duration_s,
                    on_started=started,
                    app=web.app,
                    tls=web.tls,
                )
                nursery.cancel_scope.cancel()
            return why

        why = trio.run(main)
        web.dashboard.sessions.save()  # the sessions' seen times since the last write
    except (OSError, ValueError, RuntimeError, StoreError, PrintwatchError) as err:
        print(f"printwatch demo: {err}", file=sys.stderr)
        return 1
    finally:
        stats = sim.stop()
        if collector is not None:
            collector.close()
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
    return parser


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.interval <= 0:
        raise UsageError("demo: --count must be at least 1 and --interval positive")
    setup_logging(logging.WARNING)
    return run_demo(
        count=args.count,
        duration_s=args.duration,
        interval_s=args.interval,
        web_port=args.port,
        recordings=args.recordings,
    )

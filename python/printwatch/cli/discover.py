"""``printwatch discover``: sweep networks, identify printers, print them.

A progress bar with counts goes to stderr while it runs, only when stderr is a terminal. Each
printer found is printed at the end (one JSON object per line with ``--json``), then a summary
line with counts and bytes sent (on stderr, so that ``--json`` output stays one printer per
line). Ctrl-C stops at once and prints what was found so far.

With ``--store PATH`` the store's exclusions are never probed, its manual targets always are
(whatever the networks), and every printer found is filed
in its device registry (one identity per printer: see ``printwatch.store.registry``).

Exit status: 0 if a printer was found, 1 if none was, 2 for bad input or a sweep that may not
run here, 3 if the store could not be opened or written (what was found is printed first), 130
after Ctrl-C (what was found is printed, and recorded with ``--store``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import trio

from printwatch.cli.options import Subparsers, UsageError, json_lines
from printwatch.cli.snmp_options import add_v3_options, v3_credentials
from printwatch.discovery import Agent, Discovery, Options, Progress
from printwatch.discovery.record import outcomes, record, store_exclusions, store_manual_targets
from printwatch.store import Store, StoreError

#: Redraws of the progress bar per second at most.
REDRAWS_PER_S = 10
BAR_WIDTH = 24


class ProgressBar:
    """Draws :class:`Progress` on one terminal line (``\\r``), at most 10 times a second."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last = 0.0
        self.drawn = False

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < 1 / REDRAWS_PER_S and p.phase not in ("finished", "limited", "cancelled"):
            return
        self.last = now
        done = p.swept if p.phase == "icmp" else p.probed if p.phase == "probe" else p.addresses
        share = min(1.0, done / p.addresses) if p.addresses else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = (
            f"\r[{bar}] {share:4.0%} {p.phase:<9} {done}/{p.addresses} addresses"
            f"  alive {p.alive}  agents {p.agents}  printers {p.printers}"
            f"  sent {p.packets_sent} pkts {p.bytes_sent / 1000:.1f} kB  {p.elapsed_s:.1f} s"
        )
        self.out.write(line + "\x1b[K")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.out.write("\r\x1b[K")
            self.out.flush()


def printer_line(a: Agent) -> str:
    """One printer as a line of text."""
    target = a.address if a.port == 161 else f"{a.address}:{a.port}"
    parts = [
        f"{target:<21}",
        f"serial {a.serial or '-'}",
        f"mac {a.mac or '-'}",
        f"({', '.join(a.evidence)}; {a.sweep}, community #{a.community_index + 1}, v{a.version})",
        (a.descr or "").splitlines()[0][:60] if a.descr else "",
    ]
    return "  ".join(p for p in parts if p)


def summary_line(d: Discovery) -> str:
    s = d.summary()
    ended = {"done": "", "limited": " (stopped at the time limit)", "cancelled": " (interrupted)"}
    return (
        f"discover: {s['addresses']} addresses ({'+'.join(d.sweeps) or 'no'} sweep), "
        f"{s['alive']} answered ICMP, {s['agents']} SNMP agents, "
        f"{s['printers']} printers ({s['with_serial']} with a serial); "
        f"sent {s['packets_sent']} packets, {s['bytes_sent']} bytes "
        f"({s['wire_bytes_sent']} with IP/UDP headers), "
        f"received {s['bytes_received']} bytes, in {s['elapsed_s']:.2f} s{ended.get(str(s['outcome']), '')}"
    )


async def _run(d: Discovery) -> bool:
    """Runs the discovery; True if Ctrl-C stopped it."""
    interrupted = False
    async with trio.open_nursery() as nursery:
        done = trio.Event()

        async def watch_signals() -> None:
            nonlocal interrupted
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    interrupted = True
                    nursery.cancel_scope.cancel()
                    return

        nursery.start_soon(watch_signals)
        try:
            await d.run()
        finally:
            done.set()
            nursery.cancel_scope.cancel()
    return interrupted


def run_discover(
    networks: Sequence[str],
    options: Options,
    *,
    as_json: bool,
    include_agents: bool = False,
    store: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    bar = ProgressBar(err) if err.isatty() else None
    try:
        if store is not None:
            networks, options = _with_store(networks, options, store)
        d = Discovery(networks, options, on_progress=bar)
    except StoreError as e:
        print(f"printwatch discover: {e}", file=err)
        return 3
    except ValueError as e:
        print(f"printwatch discover: {e}", file=err)
        return 2
    try:
        interrupted = _sweep(d, bar)
    except PermissionError as e:
        print(f"printwatch discover: {e}", file=err)
        return 2
    _print_found(d, out, as_json=as_json, include_agents=include_agents)
    print(summary_line(d), file=err)
    if store is not None and _record(d, store, err):
        return 3
    if interrupted:
        return 130
    return 0 if d.printers else 1


def _sweep(d: Discovery, bar: ProgressBar | None) -> bool:
    """Runs the discovery (True if Ctrl-C stopped it); the bar is closed whatever happens."""
    try:
        return trio.run(_run, d)
    finally:
        if bar is not None:
            bar.close()


def _with_store(networks: Sequence[str], options: Options, store: Path) -> tuple[list[str], Options]:
    """The networks with the store's manual targets, the options with its exclusions."""
    with Store(store) as s:
        excluded = store_exclusions(s)
        manual = store_manual_targets(s)
    return [*networks, *manual], dataclasses.replace(options, exclude=[*options.exclude, *excluded])


def _print_found(d: Discovery, out: TextIO, *, as_json: bool, include_agents: bool) -> None:
    shown = sorted(d.agents.values(), key=lambda a: tuple(int(x) for x in a.address.split(".")))
    for agent in shown:
        if not (agent.printer or include_agents):
            continue
        out.write(json.dumps(agent.to_json()) + "\n" if as_json else printer_line(agent) + "\n")
    out.flush()


def _record(d: Discovery, store: Path, err: TextIO) -> bool:
    """Files the printers found in the store's registry; True when that failed (said on ``err``)."""
    try:
        with Store(store) as s:
            results = record(d.printers, s)
    except StoreError as e:
        print(f"printwatch discover: {e}", file=err)
        return True
    print(f"discover: recorded in {store}: {outcomes(results)}", file=err)
    return False


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Sweep each NETWORK (CIDR a.b.c.d/n, or one address) with ICMP echo where this "
        "process may (raw socket with CAP_NET_RAW, or a datagram socket where ping_group_range "
        "allows), else with one SNMP GET per address; identify every SNMP agent and print the "
        "printers. A progress bar goes to stderr on a terminal; a summary line with counts and "
        "bytes sent ends the run. Ctrl-C stops at once and prints what was found. Exit status 0 if "
        "a printer was found, 1 if none, 2 for bad input, 130 after Ctrl-C.",
        parents=[json_lines("one JSON object per printer and line")],
    )
    parser.add_argument("networks", nargs="+", metavar="NETWORK", help="a.b.c.d/n or a.b.c.d")
    _add_sweep_options(parser)
    _add_snmp_probe_options(parser)
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="NETWORK", help="never probe these (repeatable)"
    )
    parser.add_argument("--all", action="store_true", help="also print SNMP agents that are not printers")
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="PATH",
        help="leave out the store's exclusions and file the printers found in its device registry "
        "(exit status 3 if that fails)",
    )
    add_v3_options(parser, "SNMPv3 user name: probe and identify over SNMPv3 (communities unused)")
    return parser


def _add_sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate", type=int, default=1000, metavar="PPS", help="packets per second at most (default 1000)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to wait for each answer (default 1.0)",
    )
    parser.add_argument(
        "--limit", type=float, default=None, metavar="S", help="stop after S seconds, keeping what was found"
    )


def _add_snmp_probe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--community",
        action="append",
        metavar="C",
        help="SNMP community, tried in the order given (repeatable; default public)",
    )
    parser.add_argument(
        "--mode",
        choices=["auto", "icmp", "snmp"],
        default="auto",
        help="icmp: echo sweep, then SNMP to the hosts that answered; snmp: one SNMP GET per "
        "address (networks that drop ICMP); auto: icmp where allowed, and snmp for a network where "
        "no address answered an echo (default auto)",
    )
    parser.add_argument(
        "--retries", type=int, default=0, help="probes sent again to a silent address (default 0)"
    )
    parser.add_argument("--port", type=int, default=161, help="SNMP port (default 161)")
    parser.add_argument(
        "--snmp-version",
        choices=["1", "2c", "3", "auto"],
        default="auto",
        help="SNMP version of the probes; auto sends v2c and, on a retry, v1, or SNMPv3 when "
        "--v3-user is given (default auto)",
    )


def options_of(args: argparse.Namespace) -> Options:
    """The discovery's options from the arguments; ``UsageError`` when they do not fit."""
    try:
        v3 = v3_credentials(args)
        options = Options(
            v3=v3,
            communities=args.community or ["public"],
            port=args.port,
            mode=args.mode,
            max_pps=args.rate,
            timeout_s=args.timeout,
            retries=args.retries,
            limit_s=args.limit,
            exclude=args.exclude,
            version="3" if v3 is not None else args.snmp_version,
        )
        options.check()
    except ValueError as err:
        raise UsageError(str(err)) from None
    return options


def run(args: argparse.Namespace) -> int:
    return run_discover(
        args.networks, options_of(args), as_json=args.json, include_agents=args.all, store=args.store
    )

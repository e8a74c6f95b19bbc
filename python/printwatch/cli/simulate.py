"""``printwatch simulate``: serve a simulated printer fleet until told to stop: the package's
built-in printer models (:mod:`printwatch.catalogue`), or ``.snmprec`` recordings; or write
the built-in models as ``.snmprec`` files (``--export-snmprec``)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from printwatch import catalogue
from printwatch.cli.options import Subparsers, UsageError
from printwatch.cli.snmp_options import add_v3_options, v3_credentials
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
    sim: Simulator,
    duration_s: float | None,
    community: str = "public",
    out: TextIO = sys.stdout,
    what: str = "recordings",
) -> SimulatorStats:
    """Starts ``sim``, prints the one line naming the range (and ``what`` its recordings are),
    waits for SIGINT/SIGTERM or ``duration_s``, stops it and returns its stats."""
    stop: list[int] = []
    deadline = None if duration_s is None else time.monotonic() + duration_s
    with _stop_on_sigterm(stop):
        sim.start()
        try:
            print(
                f"serving {sim.count} printers on {sim.first}-{sim.last} port {sim.port} "
                f"({len(sim.recordings)} {what}), community {community}",
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


def run_export_snmprec(folder: Path, models: list[str] | None, out: TextIO = sys.stdout) -> int:
    """Writes the built-in models (all, or those named) as .snmprec files in ``folder``."""
    try:
        paths = catalogue.export(folder, models)
    except ValueError as err:
        print(f"printwatch simulate: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"printwatch simulate: cannot write {folder}: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} built-in models to {folder} as .snmprec files", file=out, flush=True)
    return 0


def run_list_models(models: list[str] | None, out: TextIO = sys.stdout) -> int:
    """Prints the built-in models (all, or those named): id, kind, vendor, model name."""
    try:
        chosen = catalogue.select(models)
    except ValueError as err:
        print(f"printwatch simulate: {err}", file=sys.stderr)
        return 2
    for m in chosen:
        print(f"{m.id:40} {m.kind:12} {m.vendor:15} {m.model}", file=out)
    return 0


def run_simulate(
    recordings: Path | None,
    *,
    models: list[str] | None = None,
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
    """Serves the built-in models (all, or ``models``), or the ``recordings`` when given."""
    options: dict[str, Any] = {
        "count": count,
        "base": base,
        "port": port,
        "community": community,
        "identity": identity,
        "seed": seed,
        "dynamics": dynamics,
        "time_scale": time_scale,
        "v3": v3,
    }
    try:
        if recordings is None:
            sim = catalogue.simulator(models, **options)
        else:
            sim = Simulator(recordings, **options)
    except (ValueError, OSError, OverflowError) as err:
        print(f"printwatch simulate: {err}", file=sys.stderr)
        return 2
    what = "built-in models" if recordings is None else "recordings"
    try:
        answers = community if v3 is None else f"{community}, SNMPv3 user {v3.user} ({v3.level})"
        serve(sim, duration_s, answers, what=what)
    except OSError as err:
        print(f"printwatch simulate: cannot serve on port {port}: {err}", file=sys.stderr)
        return 1
    return 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Serve COUNT simulated printers on consecutive loopback addresses from BASE, "
        "all on one UDP port, printer i answering as built-in model i %% n (or recording i %% n "
        "with --recordings). Prints one line naming the range; stops on SIGINT/SIGTERM or after "
        "--duration seconds, then prints its counts. --export-snmprec DIR writes the built-in "
        "models as .snmprec files instead (for snmpsim or --recordings); --list names them.",
    )
    _add_sources(parser)
    parser.add_argument("--count", type=int, default=1, help="number of printers (default 1)")
    parser.add_argument("--base", default="127.20.0.1", help="first address (default 127.20.0.1)")
    parser.add_argument("--port", type=int, default=161, help="UDP port (default 161, needs root)")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    parser.add_argument("--community", default="public", help="community answered (default public)")
    parser.add_argument("--seed", type=int, default=0, help="seed of identities and dynamics (default 0)")
    _add_behaviour(parser)
    add_v3_options(parser, what="answer SNMPv3 too, as this user (every printer its own engine)")
    return parser


def _add_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help="serve a directory of .snmprec files (or one file) instead of the built-in models",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only these built-in models: ids, vendors (hp, ricoh...) or kinds (color_mfp, label...)",
    )
    parser.add_argument(
        "--export-snmprec",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each built-in model (or --models) as DIR/<id>.snmprec and exit",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in models and exit")


def _add_behaviour(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dynamics",
        action="store_true",
        help="pages, supplies, offline hours, loss, slow answers and alerts change over time",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second for --dynamics (default 1; 2016 runs a week in 5 minutes)",
    )
    parser.add_argument(
        "--no-identity",
        dest="identity",
        action="store_false",
        help="answer every printer exactly as its recording (no per-printer serial, MAC, sysName)",
    )


def run(args: argparse.Namespace) -> int:
    if args.recordings is not None and (args.models or args.export_snmprec or args.list):
        raise UsageError(
            "simulate: --models, --export-snmprec and --list are for the built-in models, not --recordings"
        )
    if args.list:
        return run_list_models(args.models)
    if args.export_snmprec is not None:
        return run_export_snmprec(args.export_snmprec, args.models)
    try:
        v3 = v3_credentials(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return run_simulate(
        args.recordings,
        models=args.models,
        count=args.count,
        base=args.base,
        port=args.port,
        duration_s=args.duration,
        community=args.community,
        identity=args.identity,
        seed=args.seed,
        dynamics=args.dynamics,
        time_scale=args.time_scale,
        v3=v3,
    )

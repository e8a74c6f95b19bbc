"""Argument parsing and dispatch for the ``printwatch`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from printwatch import __version__
from printwatch.cli.snmp_options import add_snmp_options, add_v3_options, target_kwargs, v3_credentials


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printwatch",
        description="SNMP polling appliance for printer fleets.",
    )
    parser.add_argument("--version", action="version", version=f"printwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    selfcheck = commands.add_parser(
        "selfcheck",
        help="check that the Rust core is installed and the codec round-trips every message kind",
        description="Encode and decode one message of every PDU and value type through the "
        "Rust core, compare, and time the codec briefly. Exit status 0 when all is well.",
    )
    selfcheck.add_argument(
        "--seconds", type=float, default=0.5, help="how long to time the codec (default 0.5)"
    )
    poll = commands.add_parser(
        "poll",
        help="poll printers once: identity, status, meters, supplies, trays and alerts",
        description="Poll each TARGET (host[:port], port 161 by default) once, in two steps (the "
        "standard MIBs, then the vendor's meter OIDs), and print its identity, status, billing "
        "meters, supplies, trays and alerts: a table per target, or one JSON object per line "
        "with --json. Exit status 0 if any target answered, 1 if none did, 2 for a bad target.",
    )
    poll.add_argument("targets", nargs="+", metavar="TARGET", help="host[:port]")
    add_snmp_options(poll)
    poll.add_argument("--json", action="store_true", help="one JSON object per target and line")
    poll.add_argument("--timeout", type=float, default=1.0, help="seconds per try (default 1.0)")
    poll.add_argument("--retries", type=int, default=2, help="tries after the first (default 2)")
    poll.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="PATH",
        help="also record what was read in this history store (exit status 3 if that fails)",
    )
    add_simulate(commands)
    add_discover(commands)
    add_appliance_commands(commands)
    add_store_commands(commands)
    add_uplink_commands(commands)
    return parser


def add_uplink_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from printwatch.cli.collector import add_collector_command

    add_collector_command(commands)
    enrol = commands.add_parser(
        "enrol",
        help="enrol this appliance with the MSP's collector (a one-time token)",
        description="Make the appliance's Ed25519 key (if missing) and register it with the collector "
        "of the configuration's [uplink] table, with TOKEN (default: its token). Exit status 0 when "
        "enrolled, 1 when refused or unreachable, 2 for a configuration without an uplink.",
    )
    enrol.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="default /etc/printwatch/printwatch.toml"
    )
    enrol.add_argument("--token", default=None, help="the one-time token (default: [uplink] token)")
    uplink = commands.add_parser(
        "uplink",
        help="`uplink log`: every transmission to the collector, byte for byte, hash-chained",
        description="Print every transmission (time, message, bytes up and down, answer), the "
        "outbox and the bytes spent per day, and check the hash chain. Exit status 0 when the "
        "chain is whole, 1 when a row is missing or was edited, 2 for a store that cannot be read.",
    )
    uplink.add_argument("action", choices=["log"])
    store_help = "the history store (default: $PRINTWATCH_STORE, else ./printwatch.duckdb)"
    uplink.add_argument("--store", type=Path, default=None, metavar="PATH", help=store_help)
    uplink.add_argument("--bytes", action="store_true", help="also print each request and response")
    uplink.add_argument("--json", action="store_true", help="one JSON object per transmission")
    uplink.add_argument("--limit", type=int, default=None, metavar="N", help="only the last N")


def add_discover(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discover = commands.add_parser(
        "discover",
        help="sweep networks and identify the printers on them",
        description="Sweep each NETWORK (CIDR a.b.c.d/n, or one address) with ICMP echo where this "
        "process may (raw socket with CAP_NET_RAW, or a datagram socket where ping_group_range "
        "allows), else with one SNMP GET per address; identify every SNMP agent and print the "
        "printers. A progress bar goes to stderr on a terminal; a summary line with counts and "
        "bytes sent ends the run. Ctrl-C stops at once and prints what was found. Exit status 0 if "
        "a printer was found, 1 if none, 2 for bad input, 130 after Ctrl-C.",
    )
    discover.add_argument("networks", nargs="+", metavar="NETWORK", help="a.b.c.d/n or a.b.c.d")
    discover.add_argument("--json", action="store_true", help="one JSON object per printer and line")
    discover.add_argument(
        "--rate", type=int, default=1000, metavar="PPS", help="packets per second at most (default 1000)"
    )
    discover.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to wait for each answer (default 1.0)",
    )
    discover.add_argument(
        "--limit", type=float, default=None, metavar="S", help="stop after S seconds, keeping what was found"
    )
    discover.add_argument(
        "--community",
        action="append",
        metavar="C",
        help="SNMP community, tried in the order given (repeatable; default public)",
    )
    discover.add_argument(
        "--mode",
        choices=["auto", "icmp", "snmp"],
        default="auto",
        help="icmp: echo sweep, then SNMP to the hosts that answered; snmp: one SNMP GET per "
        "address (networks that drop ICMP); auto: icmp where allowed, and snmp for a network where "
        "no address answered an echo (default auto)",
    )
    discover.add_argument(
        "--retries", type=int, default=0, help="probes sent again to a silent address (default 0)"
    )
    discover.add_argument("--port", type=int, default=161, help="SNMP port (default 161)")
    discover.add_argument(
        "--snmp-version",
        choices=["1", "2c", "3", "auto"],
        default="auto",
        help="SNMP version of the probes; auto sends v2c and, on a retry, v1, or SNMPv3 when "
        "--v3-user is given (default auto)",
    )
    discover.add_argument(
        "--exclude", action="append", default=[], metavar="NETWORK", help="never probe these (repeatable)"
    )
    discover.add_argument("--all", action="store_true", help="also print SNMP agents that are not printers")
    discover.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="PATH",
        help="leave out the store's exclusions and file the printers found in its device registry "
        "(exit status 3 if that fails)",
    )
    add_v3_options(discover, "SNMPv3 user name: probe and identify over SNMPv3 (communities unused)")


def add_appliance_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="the appliance daemon: scheduled polling, history, /health and /metrics",
        description="Run the appliance with the configuration FILE until SIGTERM or SIGINT (a write "
        "in hand finishes, the history is flushed, exit status 0). Exit status 2 for a configuration "
        "with problems (each named with its line), 1 when it cannot start.",
    )
    run.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="default /etc/printwatch/printwatch.toml"
    )
    run.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    demo = commands.add_parser(
        "demo",
        help="the main job on embedded defaults: simulated printers, scheduled polling, /metrics",
        description="Simulated printers on loopback (the package's built-in printer models, or "
        "--recordings), polled on a short interval into a history in a temporary folder, "
        "the HTTP server on 127.0.0.1:8080. Prints what it started, where, and how to stop.",
    )
    demo.add_argument("--count", type=int, default=300, help="simulated printers (default 300)")
    demo.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    demo.add_argument(
        "--interval", type=float, default=30.0, metavar="S", help="status poll every S seconds (default 30)"
    )
    demo.add_argument(
        "--port", type=int, default=8080, help="HTTP port on 127.0.0.1 (default 8080; 0: any free)"
    )
    demo.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help="serve a directory of .snmprec files instead of the built-in models",
    )
    assist = commands.add_parser(
        "assist",
        help="call for assistance: an immediate full poll of DEVICE by the running appliance",
        description="Ask the running appliance (its HTTP server) for an immediate full poll of DEVICE "
        "(host[:port], serial number or sysName), written to the history and handed to the uplink; "
        "prints the poll document. Exit status 0 if it answered, 1 if not or the appliance is not "
        "reachable, 2 for an unknown device.",
    )
    assist.add_argument("device", metavar="DEVICE")
    assist.add_argument(
        "--url",
        default=None,
        help="the appliance's HTTP server (default from --config, else http://127.0.0.1:8080)",
    )
    assist.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="read the HTTP address from FILE"
    )
    secret = commands.add_parser(
        "secret",
        help="store a secret (community, SMTP or uplink credential), encrypted",
        description="`secret set NAME` reads the value from standard input (one trailing newline is "
        "dropped) and stores it encrypted under the key file of the configuration's [appliance] "
        'table (created, mode 0600, if missing); the configuration refers to it as "secret:NAME". '
        "`secret list` prints the names stored.",
    )
    secret.add_argument("action", choices=["set", "list"])
    secret.add_argument("name", nargs="?", metavar="NAME")
    secret.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="default /etc/printwatch/printwatch.toml if it exists",
    )


def add_store_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store_help = "the history store (default: $PRINTWATCH_STORE, else ./printwatch.duckdb)"
    sql = commands.add_parser(
        "sql",
        help="run SQL against the history store (views: devices, supply_history, meter_history, ...)",
        description="Run QUERY against the history store and print its rows. While the appliance "
        "writes the store, the latest snapshot it published is read (a note on stderr says so). "
        "Exit status 0, 1 for a bad query, 2 for a store that cannot be read.",
    )
    sql.add_argument("query", metavar="QUERY", help="one SQL statement")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table",
                     help="table (default), csv with a header, or json: one object per line")  # fmt: skip
    sql.add_argument("--store", type=Path, default=None, metavar="PATH", help=store_help)
    export = commands.add_parser(
        "export",
        help="write the history (public views and events) as Parquet or CSV files",
        description="Write each public view and event table of the history store to DIR/NAME.FORMAT.",
    )
    export.add_argument("directory", type=Path, metavar="DIR")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="default parquet")
    export.add_argument("--store", type=Path, default=None, metavar="PATH", help=store_help)


def add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="serve simulated printers (the built-in models, or .snmprec recordings) on loopback addresses",
        description="Serve COUNT simulated printers on consecutive loopback addresses from BASE, "
        "all on one UDP port, printer i answering as built-in model i %% n (or recording i %% n "
        "with --recordings). Prints one line naming the range; stops on SIGINT/SIGTERM or after "
        "--duration seconds, then prints its counts. --export-snmprec DIR writes the built-in "
        "models as .snmprec files instead (for snmpsim or --recordings); --list names them.",
    )
    simulate.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help="serve a directory of .snmprec files (or one file) instead of the built-in models",
    )
    simulate.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only these built-in models: ids, vendors (hp, ricoh...) or kinds (color_mfp, label...)",
    )
    simulate.add_argument(
        "--export-snmprec",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each built-in model (or --models) as DIR/<id>.snmprec and exit",
    )
    simulate.add_argument("--list", action="store_true", help="list the built-in models and exit")
    simulate.add_argument("--count", type=int, default=1, help="number of printers (default 1)")
    simulate.add_argument("--base", default="127.20.0.1", help="first address (default 127.20.0.1)")
    simulate.add_argument("--port", type=int, default=161, help="UDP port (default 161, needs root)")
    simulate.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    simulate.add_argument("--community", default="public", help="community answered (default public)")
    simulate.add_argument("--seed", type=int, default=0, help="seed of identities and dynamics (default 0)")
    simulate.add_argument(
        "--dynamics",
        action="store_true",
        help="pages, supplies, offline hours, loss, slow answers and alerts change over time",
    )
    simulate.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second for --dynamics (default 1; 2016 runs a week in 5 minutes)",
    )
    simulate.add_argument(
        "--no-identity",
        dest="identity",
        action="store_false",
        help="answer every printer exactly as its recording (no per-printer serial, MAC, sysName)",
    )
    add_v3_options(simulate, what="answer SNMPv3 too, as this user (every printer its own engine)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "selfcheck":
        from printwatch.cli.selfcheck import run_selfcheck

        return run_selfcheck(seconds=args.seconds)
    if args.command == "poll":
        from printwatch._core import Engine
        from printwatch.cli.poll import run_poll

        try:
            engine = Engine(timeout_s=args.timeout, retries=args.retries)
            options = target_kwargs(args)
        except ValueError as err:
            parser.error(str(err))
        return run_poll(args.targets, **options, as_json=args.json, engine=engine, store=args.store)
    if args.command == "simulate":
        from printwatch.cli.simulate import run_export_snmprec, run_list_models, run_simulate

        if args.recordings is not None and (args.models or args.export_snmprec or args.list):
            parser.error(
                "simulate: --models, --export-snmprec and --list are for the built-in models, "
                "not --recordings"
            )
        if args.list:
            return run_list_models(args.models)
        if args.export_snmprec is not None:
            return run_export_snmprec(args.export_snmprec, args.models)
        try:
            v3 = v3_credentials(args)
        except ValueError as err:
            parser.error(str(err))
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
    if args.command == "discover":
        from printwatch.cli.discover import run_discover
        from printwatch.discovery import Options

        try:
            v3 = v3_credentials(args)
        except ValueError as err:
            parser.error(str(err))
        discovery_options = Options(
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
        try:
            discovery_options.check()
        except ValueError as err:
            parser.error(str(err))
        return run_discover(
            args.networks, discovery_options, as_json=args.json, include_agents=args.all, store=args.store
        )
    if args.command in ("run", "demo", "assist", "secret"):
        return run_appliance_command(parser, args)
    if args.command == "collector":
        from printwatch.cli.collector import run_collector

        return run_collector(args)
    if args.command == "enrol":
        from printwatch.cli.run import DEFAULT_CONFIG
        from printwatch.cli.uplink import run_enrol

        return run_enrol(args.config or DEFAULT_CONFIG, args.token)
    if args.command == "uplink":
        from printwatch.cli.uplink import run_log
        from printwatch.store.query import default_store

        return run_log(
            args.store or default_store(), show_bytes=args.bytes, as_json=args.json, limit=args.limit
        )
    if args.command in ("sql", "export"):
        from printwatch.cli.sql import run_export, run_sql
        from printwatch.store.query import default_store

        store = args.store or default_store()
        if args.command == "sql":
            return run_sql(args.query, store=store, fmt=args.format)
        return run_export(args.directory, store=store, fmt=args.format)
    parser.print_help()
    return 0


def run_appliance_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from printwatch.cli.run import DEFAULT_CONFIG, setup_logging

    if args.command == "run":
        from printwatch.cli.run import run_daemon

        setup_logging()
        return run_daemon(args.config or DEFAULT_CONFIG, duration_s=args.duration)
    if args.command == "demo":
        from printwatch.cli.demo import run_demo

        if args.count < 1 or args.interval <= 0:
            parser.error("demo: --count must be at least 1 and --interval positive")
        setup_logging(logging.WARNING)
        return run_demo(
            count=args.count,
            duration_s=args.duration,
            interval_s=args.interval,
            web_port=args.port,
            recordings=args.recordings,
        )
    if args.command == "assist":
        from printwatch.cli.assist import run_assist

        return run_assist(args.device, url=args.url, config_path=args.config)
    from printwatch.cli.secret import run_secret

    if args.action == "set" and not args.name:
        parser.error("secret set: a NAME is needed")
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    return run_secret(args.action, args.name, config)


if __name__ == "__main__":
    sys.exit(main())

"""Argument parsing and dispatch for the ``printwatch`` command."""

from __future__ import annotations

import argparse
import sys

from printwatch import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printwatch",
        description="SNMP polling appliance for printer fleets.",
        epilog="Commands still to come (see the README): demo, run, simulate, poll, discover, sql.",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "selfcheck":
        from printwatch.cli.selfcheck import run_selfcheck

        return run_selfcheck(seconds=args.seconds)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

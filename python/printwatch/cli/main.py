"""The ``printwatch`` command: the top-level parser and dispatch through the registry
(:mod:`printwatch.cli.registry`).

Only the command being run gets its full parser (its module imported); the others are listed
by name and summary, so ``printwatch --help`` imports no command module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from printwatch import __version__
from printwatch.cli.options import UsageError
from printwatch.cli.registry import COMMANDS, load


def command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word that is not an option (the top level's
    options take no values)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the full parser of ``command`` (when it is one) and the others by name."""
    parser = argparse.ArgumentParser(
        prog="printwatch",
        description="SNMP polling appliance for printer fleets.",
    )
    parser.add_argument("--version", action="version", version=f"printwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, entry in COMMANDS.items():
        if name == command:
            load(name).add_parser(commands, name, entry.summary)
        else:
            commands.add_parser(name, help=entry.summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; its exit status (2 for bad usage, after argparse's message)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return load(args.command).run(args)
    except UsageError as err:
        parser.error(str(err))


if __name__ == "__main__":
    sys.exit(main())

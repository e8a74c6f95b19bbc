"""What the ``printwatch`` commands share: option groups as argparse parents, the error a command
raises for bad usage, and the default configuration path.

A parent is a parser without ``-h`` whose options a command's parser copies
(``commands.add_parser(name, parents=[config_file(), duration()])``); each call makes a new
one. The SNMP options are parents too (:mod:`printwatch.cli.snmp_options`).

Error handling: a command's ``run`` raises :class:`UsageError` for arguments that do not fit
together; ``printwatch`` prints it as argparse does (usage, the message, exit status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

#: The parser's subcommands, as ``add_parser`` of a command module receives them.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: Where ``run``, ``enrol`` and ``secret`` look for the configuration without ``--config``.
DEFAULT_CONFIG = Path("/etc/printwatch/printwatch.toml")

STORE_HELP = "the history store (default: $PRINTWATCH_STORE, else ./printwatch.duckdb)"


class UsageError(Exception):
    """Arguments that parse but do not fit together; the message says which."""


def parent() -> argparse.ArgumentParser:
    """An empty parent parser (for a module's own shared group)."""
    return argparse.ArgumentParser(add_help=False)


def config_file(help: str = f"default {DEFAULT_CONFIG}") -> argparse.ArgumentParser:
    """``--config FILE`` (default None: the command decides)."""
    p = parent()
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help=help)
    return p


def history_store() -> argparse.ArgumentParser:
    """``--store PATH``: the appliance's history store (default None: see :data:`STORE_HELP`)."""
    p = parent()
    p.add_argument("--store", type=Path, default=None, metavar="PATH", help=STORE_HELP)
    return p


def json_lines(help: str) -> argparse.ArgumentParser:
    """``--json``: one JSON object per line; ``help`` says per what."""
    p = parent()
    p.add_argument("--json", action="store_true", help=help)
    return p


def duration() -> argparse.ArgumentParser:
    """``--duration S``: stop after S seconds (default None: until a signal)."""
    p = parent()
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    return p

"""The ``printwatch`` commands: each name with its module and the one-line summary that
``printwatch --help`` lists. A command's module is imported only when that command runs (or
shows its own help), so ``printwatch --help`` loads none of them.

A command module has two functions:

* ``add_parser(commands, name, summary)``: adds its parser (``commands.add_parser(name,
  help=summary, ...)``) with its options, shared groups as parents (:mod:`printwatch.cli.options`);
* ``run(args) -> int``: does the work and returns the exit status; it raises
  :class:`printwatch.cli.options.UsageError` for arguments that do not fit together.

Adding a command is one line in :data:`COMMANDS` (the order is the order of the help).
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Protocol, cast

from printwatch.cli.options import Subparsers


@dataclass(frozen=True)
class Command:
    module: str
    summary: str


class CommandModule(Protocol):
    def add_parser(self, commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace) -> int: ...


_CLI = "printwatch.cli."

COMMANDS: dict[str, Command] = {
    "selfcheck": Command(
        _CLI + "selfcheck",
        "check that the Rust core is installed and the codec round-trips every message kind",
    ),
    "poll": Command(
        _CLI + "poll", "poll printers once: identity, status, meters, supplies, trays and alerts"
    ),
    "simulate": Command(
        _CLI + "simulate",
        "serve simulated printers (the built-in models, or .snmprec recordings) on loopback addresses",
    ),
    "discover": Command(_CLI + "discover", "sweep networks and identify the printers on them"),
    "run": Command(_CLI + "run", "the appliance daemon: scheduled polling, history, /health and /metrics"),
    "demo": Command(
        _CLI + "demo", "the main job on embedded defaults: simulated printers, scheduled polling, /metrics"
    ),
    "assist": Command(
        _CLI + "assist", "call for assistance: an immediate full poll of DEVICE by the running appliance"
    ),
    "secret": Command(_CLI + "secret", "store a secret (community, SMTP or uplink credential), encrypted"),
    "sql": Command(
        _CLI + "sql", "run SQL against the history store (views: devices, supply_history, meter_history, ...)"
    ),
    "export": Command(_CLI + "export", "write the history (public views and events) as Parquet or CSV files"),
    "collector": Command(
        _CLI + "collector", "the MSP's collector: serve (HTTPS), sites and tokens, the read-only view"
    ),
    "enrol": Command(_CLI + "enrol", "enrol this appliance with the MSP's collector (a one-time token)"),
    "uplink": Command(
        _CLI + "uplink", "`uplink log`: every transmission to the collector, byte for byte, hash-chained"
    ),
}


def load(name: str) -> CommandModule:
    """The module of command ``name`` (imported now, if it was not)."""
    return cast(CommandModule, importlib.import_module(COMMANDS[name].module))

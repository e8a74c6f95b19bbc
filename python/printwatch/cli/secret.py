"""``printwatch secret set NAME`` (value from standard input) and ``printwatch secret list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from printwatch.cli.options import DEFAULT_CONFIG, Subparsers, UsageError, config_file
from printwatch.config import ConfigError, SecretError, SecretStore
from printwatch.config.load import load_appliance_table
from printwatch.config.model import ApplianceConfig


def secret_store(config_path: Path | None) -> SecretStore:
    """The secret store that the configuration's ``[appliance]`` table names (its defaults when
    there is no file). The rest of the file is not read: it may name secrets not set yet."""
    appliance = ApplianceConfig() if config_path is None else load_appliance_table(config_path)
    return SecretStore(appliance.key_path, appliance.secrets_path)


def run_secret(action: str, name: str | None, config_path: Path | None, stdin: TextIO = sys.stdin) -> int:
    try:
        store = secret_store(config_path)
        if action == "list":
            for n in store.names():
                print(n)
            return 0
        if name is None:
            raise ValueError("a secret name is needed")
        value = stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
        store.set(name, value)
    except (ConfigError, SecretError, ValueError, OSError) as err:
        print(f"printwatch secret: {err}", file=sys.stderr)
        return 2
    print(f"stored secret {name!r} in {store.secrets_file} (key {store.key_file})", file=sys.stderr)
    return 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="`secret set NAME` reads the value from standard input (one trailing newline is "
        "dropped) and stores it encrypted under the key file of the configuration's [appliance] "
        'table (created, mode 0600, if missing); the configuration refers to it as "secret:NAME". '
        "`secret list` prints the names stored.",
        parents=[config_file(f"default {DEFAULT_CONFIG} if it exists")],
    )
    parser.add_argument("action", choices=["set", "list"])
    parser.add_argument("name", nargs="?", metavar="NAME")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.action == "set" and not args.name:
        raise UsageError("secret set: a NAME is needed")
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    return run_secret(args.action, args.name, config)

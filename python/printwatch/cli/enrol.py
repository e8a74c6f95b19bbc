"""``printwatch enrol``: register the appliance's key with the MSP's collector (a one-time token)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import trio

from printwatch.cli.options import DEFAULT_CONFIG, Subparsers, config_file
from printwatch.clock import utcnow
from printwatch.config import ConfigError, load_config
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import endpoint_of


def run_enrol(config_path: Path, token: str | None) -> int:
    """Enrol the appliance of ``config_path`` with the collector (its ``[uplink]`` table).

    Exit status 0 when enrolled, 1 when the collector refused or could not be reached, 2 for a
    configuration without an uplink, or with problems.
    """
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(f"printwatch enrol: the configuration has problems:\n{err}", file=sys.stderr)
        return 2
    up = config.uplink
    if up is None:
        print(f"printwatch enrol: {config_path} has no [uplink] table", file=sys.stderr)
        return 2
    token = token or up.token
    if not token:
        print("printwatch enrol: no token (give --token, or token in [uplink])", file=sys.stderr)
        return 2
    try:
        identity = Identity.load_or_create(up.key_file or config.appliance.state_dir / "uplink.key")
        outbox = Outbox(config.appliance.store_path, identity, up.site_id)
    except (OSError, ValueError, RuntimeError, duckdb.Error) as err:
        print(f"printwatch enrol: {err}", file=sys.stderr)
        return 1
    endpoint = endpoint_of(up)
    try:
        key_id = trio.run(lambda: enrol(outbox, endpoint, token, now=utcnow()))
    except EnrolError as err:
        print(f"printwatch enrol: {err}", file=sys.stderr)
        return 1
    finally:
        outbox.close()
    print(f"enrolled site {up.site_id} at {up.url} with key {key_id}")
    return 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Make the appliance's Ed25519 key (if missing) and register it with the collector "
        "of the configuration's [uplink] table, with TOKEN (default: its token). Exit status 0 when "
        "enrolled, 1 when refused or unreachable, 2 for a configuration without an uplink.",
        parents=[config_file()],
    )
    parser.add_argument("--token", default=None, help="the one-time token (default: [uplink] token)")
    return parser


def run(args: argparse.Namespace) -> int:
    return run_enrol(args.config or DEFAULT_CONFIG, args.token)

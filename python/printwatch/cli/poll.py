"""``printwatch poll``: one poll of each target, as text or as one JSON object per line.

The polling itself is :func:`printwatch.poller.documents.poll_documents` (two steps: the base
plan, then each answering target's vendor plan); this module parses the targets and prints.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TextIO

from printwatch._core import Engine, V3Credentials
from printwatch.cli.options import Subparsers, UsageError, json_lines
from printwatch.cli.poll_text import print_text
from printwatch.cli.record import record_poll
from printwatch.cli.snmp_options import snmp_options, target_kwargs
from printwatch.engine import parse_target
from printwatch.poller.documents import Address, TargetFactory, Version, community_targets, poll_documents

__all__ = ["TargetFactory", "Version", "run_poll"]


def run_poll(
    specs: list[str],
    *,
    community: str,
    version: Version,
    v3: V3Credentials | None = None,
    as_json: bool,
    engine: Engine,
    out: TextIO = sys.stdout,
    store: Path | None = None,
) -> int:
    """Polls every target; exit status 0 if any answered, 1 if none did, 2 for a bad target.

    With ``store``, the documents are also recorded there (3 if that fails).
    """
    addresses: list[Address] = []
    for spec in specs:
        try:
            host, port = parse_target(spec)
        except ValueError as err:
            print(f"printwatch poll: {err}", file=sys.stderr)
            return 2
        addresses.append((spec, host, port))
    docs = poll_documents(addresses, community_targets(community, version, v3), engine=engine)
    if not as_json and isinstance(out, io.TextIOWrapper):
        # A supply name in a script the terminal's encoding lacks must not end the report.
        out.reconfigure(errors="backslashreplace")
    for doc in docs:
        if as_json:
            print(json.dumps(doc, separators=(",", ":")), file=out)
        else:
            print_text(doc, out)
    if store is not None and record_poll(docs, store):
        return 3
    return 0 if any(doc["reachable"] for doc in docs) else 1


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Poll each TARGET (host[:port], port 161 by default) once, in two steps (the "
        "standard MIBs, then the vendor's meter OIDs), and print its identity, status, billing "
        "meters, supplies, trays and alerts: a table per target, or one JSON object per line "
        "with --json. Exit status 0 if any target answered, 1 if none did, 2 for a bad target.",
        parents=[snmp_options(), json_lines("one JSON object per target and line")],
    )
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="host[:port]")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per try (default 1.0)")
    parser.add_argument("--retries", type=int, default=2, help="tries after the first (default 2)")
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="PATH",
        help="also record what was read in this history store (exit status 3 if that fails)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        engine = Engine(timeout_s=args.timeout, retries=args.retries)
        options = target_kwargs(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return run_poll(args.targets, **options, as_json=args.json, engine=engine, store=args.store)

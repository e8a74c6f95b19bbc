"""``printwatch poll``: one poll of each target, as text or as one JSON object per line.

The polling itself is :func:`printwatch.poller.documents.poll_documents` (two steps: the base
plan, then each answering target's vendor plan); this module parses the targets and prints.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TextIO

from printwatch._core import Engine, V3Credentials
from printwatch.cli.poll_text import print_text
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
    if store is not None:
        from printwatch.cli.record import record_poll

        if record_poll(docs, store):
            return 3
    return 0 if any(doc["reachable"] for doc in docs) else 1

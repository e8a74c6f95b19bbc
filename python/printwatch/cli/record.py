"""``printwatch poll --store PATH``: record what a poll read in the history store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from printwatch.clock import iso_seconds, utcnow
from printwatch.store import Store, StoreError


def record_poll(docs: list[dict[str, Any]], store_path: Path) -> int:
    """Ingest one poll's documents (stamped with the poll's UTC time if they carry none).

    Returns 0, or 3 when the store could not be opened or written (the message on stderr names
    the store and the reason; the poll's output has already been printed).
    """
    now = iso_seconds(utcnow())
    stamped = [d if "time" in d else {**d, "time": now} for d in docs]
    try:
        with Store(store_path) as store:
            result = store.ingest(stamped)
    except StoreError as err:
        print(f"printwatch poll: {err}", file=sys.stderr)
        return 3
    for reason in result.refused:
        print(f"printwatch poll: not recorded: {reason}", file=sys.stderr)
    if result.error:
        print(f"printwatch poll: {result.error}", file=sys.stderr)
        return 3
    return 0

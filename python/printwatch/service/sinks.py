"""Where a cycle's poll documents are written.

The appliance writes through :class:`Sink`: ``ingest`` a cycle's documents in one call (the
store takes them in bulk), ``close`` to flush at shutdown. :func:`open_sink` gives the DuckDB
history store (``printwatch.store``) when it is installed; until then a :class:`JsonLinesSink`
that appends each cycle to a JSON-lines file (one document per line, fsynced per cycle), so
that nothing read is lost and the store can load it later.

Error handling: ``OSError`` from a write propagates to the job (logged by the scheduler; the
next cycle writes again); a write in hand is never cut short by a cancel (the appliance
shields it).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import trio
import trio.lowlevel

from printwatch.service.fairness import give_way

log = logging.getLogger(__name__)

#: Documents serialized between two checkpoints (about 1 ms of the loop's time).
LINES_PER_STEP = 50


class Sink(Protocol):
    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None: ...

    async def close(self) -> None: ...

    def describe(self) -> str:
        """Where the documents go, for people."""
        ...


class JsonLinesSink:
    """Appends each cycle's documents to ``path`` (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.documents = 0
        self.cycles = 0
        self._lock = trio.Lock()

    def describe(self) -> str:
        return f"JSON lines in {self.path}"

    def _append(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        if not docs:
            return
        # Serialized on the loop in steps (a worker thread would hold the GIL against it for
        # the whole cycle); written and fsynced in a worker thread (which releases the GIL).
        parts: list[str] = []
        for start in range(0, len(docs), LINES_PER_STEP):
            parts.extend(
                json.dumps(d, separators=(",", ":")) + "\n" for d in docs[start : start + LINES_PER_STEP]
            )
            await give_way()
        async with self._lock:
            await trio.to_thread.run_sync(self._append, "".join(parts))
        self.documents += len(docs)
        self.cycles += 1

    async def close(self) -> None:
        async with self._lock:  # waits for a write in hand
            pass


class MemorySink:
    """Keeps every cycle in memory (tests, soak)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.closed = False

    def describe(self) -> str:
        return "memory"

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        self.batches.append(list(docs))

    async def close(self) -> None:
        self.closed = True


def open_sink(state_dir: Path) -> Sink:
    """The sink of ``printwatch run``: JSON lines in ``state_dir`` (the DuckDB store replaces it
    when ``printwatch.store`` lands)."""
    return JsonLinesSink(state_dir / "polls.jsonl")

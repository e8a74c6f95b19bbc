"""The scheduler's memory across restarts: the last slot each job completed.

Kept in a small JSON file (``{"status": "2026-11-30T10:05:00+00:00", ...}``) in the state
directory, replaced atomically (temporary file, fsync, rename) after every completed run, so a
power cut leaves either the old or the new file. A run that was interrupted is not recorded:
it runs again on the next start. (When the history store offers a place for it, this moves
there; the :class:`RunState` protocol is what the scheduler needs.)

Error handling: a state file that cannot be parsed is not fatal: it is renamed to
``*.corrupt`` with a warning and the scheduler starts as on a first start (every job that runs
on first start runs once); an unwritable state directory raises ``OSError`` on :meth:`save`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Protocol

import trio

log = logging.getLogger(__name__)


class RunState(Protocol):
    def last_slot(self, job: str) -> dt.datetime | None: ...

    async def save(self, job: str, slot: dt.datetime) -> None: ...


class MemoryState:
    """Last slots kept in memory only (tests, and the demo, which starts fresh each time)."""

    def __init__(self, initial: dict[str, dt.datetime] | None = None) -> None:
        self.slots = dict(initial or {})

    def last_slot(self, job: str) -> dt.datetime | None:
        return self.slots.get(job)

    async def save(self, job: str, slot: dt.datetime) -> None:
        self.slots[job] = slot


class StateFile:
    """Last slots in a JSON file (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.slots: dict[str, dt.datetime] = self._load()
        self._lock = trio.Lock()

    def _load(self) -> dict[str, dt.datetime]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return {str(k): dt.datetime.fromisoformat(v) for k, v in data.items()}
        except (ValueError, TypeError) as err:
            corrupt = self.path.with_suffix(self.path.suffix + ".corrupt")
            log.warning(
                "%s: unreadable scheduler state (%s); moved to %s, starting afresh", self.path, err, corrupt
            )
            os.replace(self.path, corrupt)
            return {}

    def last_slot(self, job: str) -> dt.datetime | None:
        return self.slots.get(job)

    async def save(self, job: str, slot: dt.datetime) -> None:
        """Records ``slot`` and rewrites the file (in a worker thread)."""
        self.slots[job] = slot
        data = json.dumps({k: v.isoformat() for k, v in sorted(self.slots.items())}, indent=1) + "\n"
        async with self._lock:
            await trio.to_thread.run_sync(self._write, data)

    def _write(self, data: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

"""The history store as the appliance's sink (:class:`printwatch.service.sinks.Sink`).

``StoreSink(path)`` owns the store's one writer in the appliance's process: each cycle's
documents go in with :meth:`Store.ingest_async`; once a UTC day has passed it runs the daily
upkeep and publishes the snapshot other processes read (``printwatch sql`` while the appliance
runs). Readers inside the process use ``sink.store.reader()``.

Error handling: a write that fails keeps the cycle pending in the store (retried with the next
cycle) and is logged; the poll loop goes on. A failed upkeep or snapshot is logged and retried
the next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import trio

from printwatch.store.store import Store, StoreError, utcnow

log = logging.getLogger(__name__)


class StoreSink:
    """Writes each cycle into the store; daily upkeep and snapshot (see the module docstring)."""

    def __init__(self, path: Path, **settings: Any) -> None:
        self.store = Store(path, **settings)
        self.cycles = 0
        self._upkept_day: datetime | None = None
        self._lock = trio.Lock()

    def describe(self) -> str:
        return f"DuckDB history store {self.store.path}"

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        async with self._lock:
            result = await self.store.ingest_async(docs)
            self.cycles += 1
            if result.error:
                log.error("%s (%d cycles pending)", result.error, result.pending)
            for reason in result.refused:
                log.warning("store: not recorded: %s", reason)
            now = utcnow()
            today = datetime(now.year, now.month, now.day)
            if self._upkept_day != today:
                await trio.to_thread.run_sync(self._upkeep, today)

    def _upkeep(self, today: datetime) -> None:
        try:
            self.store.maintain()
            self.store.publish_snapshot()
        except StoreError as err:
            log.error("%s", err)
            return
        self._upkept_day = today

    async def close(self) -> None:
        async with self._lock:
            self.store.close()

"""Where a cycle's poll documents are written.

The appliance writes through :class:`Sink`: ``ingest`` a cycle's documents in one call (the
store takes them in bulk), ``publish`` and ``upkeep`` for the history's readers and tiers,
``close`` to flush at shutdown. :class:`StoreSink` is the DuckDB history store
(``printwatch.store``); :class:`MemorySink` keeps them in memory (tests).

Error handling: see each sink; a write in hand is never cut short by a cancel (the appliance
shields it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import trio
import trio.lowlevel

from printwatch.discovery import Agent
from printwatch.discovery.record import outcomes, record, store_exclusions
from printwatch.service.memory import RenewalPolicy
from printwatch.store import Companion, IngestResult, Store

log = logging.getLogger(__name__)


class Sink(Protocol):
    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None: ...

    async def publish(self) -> None: ...

    async def upkeep(self, now: dt.datetime) -> None: ...

    async def close(self) -> None: ...

    def known_addresses(self) -> list[str]:
        """Addresses the history knows printers at (the device registry's targets)."""
        ...

    def exclusions(self) -> list[str]:
        """Networks the history says never to probe."""
        ...

    async def record_discovery(self, printers: Sequence[Agent]) -> None:
        """Files what a discovery found in the device registry."""
        ...

    def describe(self) -> str:
        """Where the documents go, for people."""
        ...


class StoreSink:
    """The DuckDB history store (:class:`printwatch.store.Store`), the appliance being its one
    writer. A cycle is one transaction, written in a worker thread; a write that fails (a full
    disk) is kept by the store and written before the next cycle's (the store logs it); the
    documents the store refuses are logged by name. After each meter read the store publishes
    its read-only snapshot for other processes (``printwatch sql`` while the appliance runs).

    With a ``renewal`` policy (:func:`open_sink` gives the appliance one: see
    :mod:`printwatch.service.memory`), a write after which the process's memory has grown is
    followed by the store's renewal, which gives back what DuckDB kept; a renewal that would
    wait for a reader (the dashboard's) is left to a later write, and one that fails is logged:
    the write stands. Without one, only the daily upkeep renews."""

    #: How long a renewal after a write waits for readers in flight (new readers wait meanwhile).
    RENEW_WAIT_S = 0.05

    def __init__(self, store: Store, *, renewal: RenewalPolicy | None = None) -> None:
        self.store = store
        self.renewal = renewal
        #: Renewals made after a write (the store's ``renewals`` counts the upkeep's too).
        self.renewals_after_writes = 0
        self.last: IngestResult | None = None
        # One call at a time on the store's connection: a cycle's write, a snapshot, the upkeep
        # (DuckDB refuses a second call on a busy connection rather than waiting).
        self._lock = trio.Lock()
        # Other connections of this process to the file, with the limiter their calls run under.
        self.companions: list[tuple[Companion, trio.CapacityLimiter]] = []
        #: Whether :meth:`publish` writes the snapshot. The demo's history turns it off while it
        #: makes a month in a minute (no reader in another process can see the snapshots of
        #: simulated days; 0.2 s each) and publishes once at its end (:meth:`publish_now`).
        self.snapshots = True

    def share_file(self, companion: Companion, limiter: trio.CapacityLimiter) -> None:
        """Another user of the store's file in this process (the uplink's outbox), whose calls
        all run under ``limiter``: closed and opened again with the store at its renewal."""
        self.companions.append((companion, limiter))

    def describe(self) -> str:
        return f"DuckDB history in {self.store.path}"

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        if not docs:
            return
        async with self._lock:
            self.last = result = await self.store.ingest_async(docs)
            for reason in result.refused:
                log.warning("not recorded: %s", reason)
            if self.renewal is not None and result.error is None and self.renewal.due():
                await self._renew_after_write(self.renewal)

    async def publish(self) -> None:
        """The snapshot for readers in other processes (unless :attr:`snapshots` is off)."""
        if self.snapshots:
            await self.publish_now()

    async def publish_now(self) -> None:
        """The snapshot for readers in other processes, whatever :attr:`snapshots` says."""
        async with self._lock:
            await trio.to_thread.run_sync(self.store.publish_snapshot)

    async def upkeep(self, now: dt.datetime) -> None:
        """The store's daily upkeep (tiers, retention) as of ``now`` (the appliance's clock:
        the demo's history runs it at simulated dates), then its renewal (:meth:`Store.renew`:
        the database closed and opened again, which frees the memory DuckDB keeps meanwhile).

        The renewal runs as :meth:`_renew` says (about 40 ms at 2,000 printers, the log already
        checkpointed by the upkeep). Readers are waited for (at most 2 s, else it waits for the
        next upkeep or a write that grew the process).
        """
        async with self._lock:
            moved = await trio.to_thread.run_sync(self.store.maintain, now, limiter=self.store.write_limiter)
            log.info("history upkeep: %s", moved)
            if await self._renew(wait_s=2.0) and self.renewal is not None:
                self.renewal.renewed()

    async def _renew_after_write(self, renewal: RenewalPolicy) -> None:
        try:
            renewed = await self._renew(wait_s=self.RENEW_WAIT_S, quiet=True)
        except Exception as err:  # the write is committed: the cycle goes on
            log.error("history: the renewal after a write failed (the next write reopens): %s", err)
            renewal.renewed()  # not tried again at every write
            return
        if renewed:
            renewal.renewed()
            self.renewals_after_writes += 1

    async def _renew(self, *, wait_s: float, quiet: bool = False) -> bool:
        """The store's renewal (:meth:`Store.renew`), the caller holding the store's lock; it
        runs in a worker thread (the checkpoint of a cycle's write, then closing and opening:
        30-60 ms at 10,000 printers) with the store's write limiter and every companion's
        limiter held: no write and no companion call (each runs under its limiter) can meet a
        closed connection. Readers are waited for, up to ``wait_s``; returns whether the store
        was renewed (not: a reader still busy). ``quiet``: both outcomes logged at debug level
        (a renewal after a write, about once a cycle at 10,000 printers)."""
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.store.write_limiter)
            for _, limiter in self.companions:
                await stack.enter_async_context(limiter)
            companions = [companion for companion, _ in self.companions]
            busy = logging.DEBUG if quiet else logging.WARNING
            renew = functools.partial(self.store.renew, companions, wait_s=wait_s, level=busy)
            if await trio.to_thread.run_sync(renew):
                done = logging.DEBUG if quiet else logging.INFO
                log.log(done, "history: database closed and opened again (renewal %d)", self.store.renewals)
                return True
            return False

    async def close(self) -> None:
        async with self._lock:
            await trio.to_thread.run_sync(self.store.close)

    def known_addresses(self) -> list[str]:
        return self.store.targets()

    def exclusions(self) -> list[str]:
        return store_exclusions(self.store)

    async def record_discovery(self, printers: Sequence[Agent]) -> None:
        async with self._lock:
            results = await trio.to_thread.run_sync(record, printers, self.store)
        log.info("device registry: %s", outcomes(results))


class MemorySink:
    """Keeps every cycle in memory (tests, soak)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.published = 0
        self.upkeeps = 0
        self.discovered: list[int] = []
        self.closed = False

    def describe(self) -> str:
        return "memory"

    async def ingest(self, docs: Sequence[dict[str, Any]]) -> None:
        self.batches.append(list(docs))

    async def publish(self) -> None:
        self.published += 1

    async def upkeep(self, now: dt.datetime) -> None:
        self.upkeeps += 1

    async def close(self) -> None:
        self.closed = True

    def known_addresses(self) -> list[str]:
        return []

    def exclusions(self) -> list[str]:
        return []

    async def record_discovery(self, printers: Sequence[Agent]) -> None:
        self.discovered.append(len(printers))


def open_sink(
    path: Path, *, poll_interval_s: float, meter_interval_s: float, memory_limit_mb: int | None = None
) -> StoreSink:
    """The history store at ``path`` (created if needed), DuckDB's memory bounded by
    ``memory_limit_mb`` (``[appliance] store_memory_mb``), renewed after a write that grew the
    process (:class:`~printwatch.service.memory.RenewalPolicy`).

    Error handling: :class:`printwatch.store.StoreError` naming the file when it cannot be
    opened (not a store, or another process writes it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return StoreSink(
        Store(
            path,
            poll_interval_s=poll_interval_s,
            meter_interval_s=meter_interval_s,
            memory_limit_mb=memory_limit_mb,
        ),
        renewal=RenewalPolicy(),
    )

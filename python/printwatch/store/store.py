"""The history store: one writer process owns the DuckDB file; readers never block it.

What DuckDB allows (checked with duckdb 2.0, see docs/store.md): one *process* may open a database
file read-write, and while it does, no other process can open it at all, not even read-only
("Could not set lock on file"). Inside the writer's process, any number of cursors read
concurrently with the writer under MVCC: a reader sees the last committed cycle and never holds
up a commit. So:

* the poll loop and the dashboard live in the writer's process: :meth:`Store.reader` gives a
  cursor per thread;
* other processes (``printwatch sql``, ``printwatch export``) open the file read-only when no
  writer holds it, and otherwise read the snapshot the writer publishes next to it
  (:meth:`Store.publish_snapshot`: a checkpoint, then a copy renamed into place, so a reader
  always sees one whole checkpointed store).

Durability: each batch is one transaction; DuckDB's write-ahead log makes a committed batch
survive a crash or ``kill -9`` and an uncommitted one vanish, so a killed writer loses at most the
batch in flight. A write that fails (a full disk, a file size limit) is rolled back, the
connection reopened, and the batch's documents kept in memory (up to ``max_pending`` batches)
to be written before the next one.
"""

from __future__ import annotations

import logging
import os
import threading
import time as _time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow.compute as pc
import trio

from printwatch import PrintwatchError
from printwatch.clock import naive_utcnow
from printwatch.mib.interpret import Documents
from printwatch.store.ingest import STATE_VOLATILE, Batch, Ingestor, Settings
from printwatch.store.registry import Conflict, Registry, Sighting, UpsertResult
from printwatch.store.schema import migrate
from printwatch.store.views import VIEWS

log = logging.getLogger(__name__)
#: The upkeep's CHECKPOINT, refused while another connection writes, is tried again every
#: ``CHECKPOINT_RETRY_S`` for up to ``UPKEEP_CHECKPOINT_WAIT_S`` before it is owed to the renewal.
CHECKPOINT_RETRY_S = 0.02
UPKEEP_CHECKPOINT_WAIT_S = 1.0

SNAPSHOT_SUFFIX = ".snapshot"
#: Every connection's settings: a query that needs an extension DuckDB does not carry must fail,
#: not download one (the appliance talks to nothing but its printers and its collector).
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {"autoinstall_known_extensions": False}
#: Documents made into rows and written at a time, within a cycle's one transaction.
WRITE_SLICE = 1000


class StoreError(PrintwatchError):
    """The store cannot be opened or written; the message names the file and the reason."""


class StoreLockedError(StoreError):
    """Another process holds the store for writing (and there is no snapshot to read)."""


class Companion(Protocol):
    """Another connection of this process to the store's file (the uplink's outbox), closed and
    opened again with the store's own in :meth:`Store.renew`."""

    def close(self) -> None: ...

    def reopen(self) -> None: ...


@dataclass
class IngestResult:
    """What one call to :meth:`Store.ingest` did.

    ``written`` counts the batches committed by this call (pending ones included); ``error`` is
    the reason the latest write failed (its documents are then in ``pending``).
    """

    documents: int = 0
    devices: int = 0
    supply_rows: int = 0
    meter_rows: int = 0
    events: int = 0
    written: int = 0
    pending: int = 0
    dropped: int = 0
    refused: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


class Store:
    """The writer's handle on the history store (a DuckDB file).

    ``Store(path)`` creates the file if needed and runs the schema's migrations. Settings given
    here (``poll_interval_s``, ``retention_days``, ``meter_interval_s``) are written into the
    store's ``settings`` table, which the views read. ``memory_limit_mb`` bounds DuckDB's memory
    in this process (its block cache and the queries' working memory, which spill to
    ``PATH.tmp`` beyond it); DuckDB's own default is 80% of the machine's memory.
    ``write_slice``: a cycle's documents are made into rows and written this many at a time,
    in the cycle's one transaction (the rows of a whole cycle at once were the largest part of
    the appliance's memory at a meter read).

    Error handling: a file that is not a DuckDB store, or that another process holds, raises
    :class:`StoreError` (:class:`StoreLockedError`) naming the path; failed writes in
    :meth:`ingest` do not raise (see :class:`IngestResult`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        poll_interval_s: float | None = None,
        retention_days: int | None = None,
        meter_interval_s: float | None = None,
        max_pending: int = 288,
        multi_home_s: float = 900.0,
        memory_limit_mb: int | None = None,
        write_slice: int = WRITE_SLICE,
    ) -> None:
        self.path = Path(path)
        self.memory_limit_mb = memory_limit_mb
        if write_slice < 1:
            raise ValueError(f"write_slice must be at least 1, not {write_slice}")
        self.write_slice = write_slice
        self.max_pending = max_pending
        self.registry = Registry(multi_home_s=multi_home_s)
        self.con = self._connect()
        try:
            migrate(self.con)
        except RuntimeError as err:
            self.con.close()
            raise StoreError(f"store {self.path}: {err}") from err
        for key, value in (
            ("poll_interval_s", poll_interval_s),
            ("retention_days", retention_days),
            ("meter_interval_s", meter_interval_s),
        ):
            if value is not None:
                self.con.execute("UPDATE settings SET value = ? WHERE key = ?", [str(value), key])
        for name, sql in VIEWS.items():
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
        self.settings = self._settings()
        self.ingestor = Ingestor(self.registry, self.settings)
        self._reload()
        self.pending: deque[list[dict[str, Any]]] = deque()
        # The one thread at a time that may write (ingest_async, the dashboard's registry
        # writes, the upkeep).
        self.write_limiter = trio.CapacityLimiter(1)
        self.dropped_batches = 0
        # Readers (see reading) in flight, and whether renew is waiting for them to finish.
        self._gate = threading.Condition()
        self._readers = 0
        self._renewing = False
        self.renewals = 0
        #: A checkpoint DuckDB refused (:meth:`checkpoint`), not yet made.
        self.checkpoint_owed = False

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path), config=DUCKDB_CONFIG)
            if self.memory_limit_mb is not None:
                # A setting of the database instance, so every connection of this process to
                # the file (the uplink's outbox too) shares the one limit.
                con.execute(f"SET GLOBAL memory_limit = '{int(self.memory_limit_mb)}MB'")
            return con
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise StoreLockedError(f"store {self.path} is held by another process: {err}") from err
            raise StoreError(f"store {self.path}: {err}") from err
        except duckdb.Error as err:
            raise StoreError(f"store {self.path}: {err}") from err

    def _settings(self) -> Settings:
        values = dict(self.con.execute("SELECT key, value FROM settings").fetchall())
        return Settings(
            meter_interval_s=float(values["meter_interval_s"]),
            replacement_jump_percent=float(values["replacement_jump_percent"]),
            max_pages_per_minute=float(values["max_pages_per_minute"]),
        )

    def _reload(self) -> None:
        self.registry.load(self.con)
        self.ingestor.load(self.con)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, wait_s: float = 10.0) -> None:
        """Close the file once the reads in :meth:`reading` are done (``wait_s`` at most: the
        dashboard's pages-per-day thread may still be summing when the daemon stops, and DuckDB
        refuses to close a connection a cursor is busy on). Pending batches that could not be
        written are lost, and logged."""
        if self.pending:
            log.error("store %s closed with %d batches unwritten", self.path, len(self.pending))
        deadline = _time.monotonic() + wait_s
        with self._gate:
            while self._readers and _time.monotonic() < deadline:
                self._gate.wait(0.05)  # short waits: a timed wait on a lock can stall under faketime
            if self._readers:
                log.warning("store %s: closed with %d reads still busy", self.path, self._readers)
            self.con.close()

    # -- writing -------------------------------------------------------------------------------

    def ingest(self, docs: Iterable[dict[str, Any]]) -> IngestResult:
        """Record one poll cycle's documents (the shared contract) in one transaction.

        Batches that failed before are written first, in order. Error handling: a document that
        breaks the contract is refused (``result.refused`` names it) and the rest is kept; a
        write that fails (``OSError`` underneath: ENOSPC, EFBIG...) is rolled back, its
        documents stay pending, ``result.error`` says why, and the next call retries. Beyond
        ``max_pending`` batches the oldest is dropped and counted (``result.dropped``).
        """
        started = _time.perf_counter()
        result = IngestResult()
        self.pending.append(_listed(docs))
        if len(self.pending) > self.max_pending:
            self.pending.popleft()
            self.dropped_batches += 1
            log.error(
                "store %s: dropped the oldest unwritten batch (%d pending)", self.path, self.max_pending
            )
        while self.pending:
            docs_ = self.pending[0]
            try:
                for c in self.registry.check_claims(docs_, self.settings.max_pages_per_minute):
                    log.warning("store %s: serial conflict, reads kept apart: %s", self.path, c.detail)
                written = self._write(self.ingestor.batches(docs_, self.write_slice))
            except (duckdb.Error, OSError) as err:
                result.error = f"store {self.path}: write failed, will retry: {err}"
                log.error("%s", result.error)
                self._recover()
                break
            except Exception:
                # Not the disk's: raised to the caller as before, but the kept state is read back
                # first (a slice before it may have filed registry rows in the rolled-back
                # transaction: memory must say what the file says).
                self._recover()
                raise
            self.pending.popleft()
            result.written += 1
            result.documents += written.documents
            result.devices += written.devices
            result.refused += written.refused
            result.supply_rows += written.supply_rows
            result.meter_rows += written.meter_rows
            result.events += written.events
        result.pending = len(self.pending)
        result.dropped = self.dropped_batches
        result.seconds = _time.perf_counter() - started
        return result

    async def ingest_async(self, docs: Iterable[dict[str, Any]]) -> IngestResult:
        """:meth:`ingest` for Trio: runs in a worker thread, one write at a time, so the loop goes on.

        Cancelling the caller does not abandon a write half-way: the batch completes (or fails
        and stays pending) before the cancellation is delivered.
        """
        listed = _listed(docs)
        return await trio.to_thread.run_sync(self.ingest, listed, limiter=self.write_limiter)

    def _write(self, batches: Iterable[Batch]) -> IngestResult:
        """The batches (a cycle's slices) in one transaction, each written before the next is
        made; their counts."""
        con = self.con
        written = IngestResult()
        con.execute("BEGIN TRANSACTION")
        try:
            for batch in batches:
                self.registry.flush(con)
                for name, table in batch.tables.items():
                    if table.num_rows:
                        _insert(con, name, table)
                _replace(con, "supply_latest", batch.latest["supply_latest"], ["supply_id"])
                _replace(con, "meter_latest", batch.latest["meter_latest"], ["device_id", "meter"])
                _write_states(con, batch)
                written.documents += batch.documents
                written.devices += batch.devices
                written.refused += batch.refused
                written.supply_rows += batch.tables["supply_levels_recent"].num_rows
                written.meter_rows += batch.tables["meter_reads_recent"].num_rows
                written.events += sum(batch.tables[t].num_rows for t in ("supply_events", "meter_events"))
                del batch  # gone before the next slice is made
            con.execute("COMMIT")
        except BaseException:
            with _suppress():
                con.execute("ROLLBACK")
            raise
        return written

    def _recover(self) -> None:
        """After a failed write: a fresh connection, and the kept state read back from the file."""
        with _suppress():
            self.con.close()
        self.con = self._connect()
        self._reload()

    def upsert(self, sightings: Iterable[Sighting]) -> list[UpsertResult]:
        """Record printers that discovery identified (the registry's rules) and write them.

        Error handling: as :meth:`ingest`, a failed write raises :class:`StoreError` after the
        registry is read back from the file (nothing half-written).
        """
        results = [self.registry.observe(s) for s in sightings]
        self._write_registry()
        return results

    def add_manual(self, target: str, address: str | None = None, *, at: datetime | None = None) -> str:
        """Add a printer to poll by address or DNS name; returns its address (see Registry).
        With ``address`` (``target`` resolved by the caller, see ``resolve_ipv4``) no lookup runs.
        ``at``: when (naive UTC; default now), as for the other admin actions below."""
        address = self.registry.add_manual(target, at or naive_utcnow(), address)
        self._write_registry()
        return address

    def resolve_conflict(self, address: str, *, same_printer: bool, at: datetime | None = None) -> Conflict:
        """An admin's decision on the serial conflict at ``address`` (see Registry), taken ``at``
        (default now: it must come after the conflict opened, so a test's clock passes its own)."""
        conflict = self.registry.resolve_conflict(address, at or naive_utcnow(), same_printer=same_printer)
        self._write_registry()
        return conflict

    def exclude(self, network: str, reason: str | None = None, *, at: datetime | None = None) -> None:
        """Never probe or record an address or CIDR range (from ``at``, default now)."""
        self.registry.exclude(network, at or naive_utcnow(), reason)
        self._write_registry()

    def targets(self) -> list[str]:
        """Addresses to poll: devices' current addresses and manual targets, minus exclusions."""
        return self.registry.targets()

    def _write_registry(self) -> None:
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.registry.flush(self.con)
            self.con.execute("COMMIT")
        except (duckdb.Error, OSError) as err:
            self._recover()
            raise StoreError(f"store {self.path}: registry write failed: {err}") from err

    # -- upkeep --------------------------------------------------------------------------------

    def maintain(self, now: datetime) -> dict[str, int]:
        """Daily upkeep: move closed days and months down the tiers, apply retention.

        Rows of days before ``now``'s UTC day leave ``*_recent``; with the rows of ``*_days`` they
        are sorted by series and time: those of months before ``now``'s month are appended to
        the monthly tables (``supply_levels``, ``meter_reads``), the rest rewrite ``*_days``.
        Sorted by series, DuckDB packs them to a few bits a value, and a device's rows sit in one
        or two row groups per tier, which its zone maps find. Rows older than
        ``retention_days`` are deleted. One transaction; a failure leaves the store as it was and
        raises :class:`StoreError`. Closed days' pages are rolled up into ``pages_daily`` first
        (:func:`roll_up_pages`). Returns the rows written into each table. ``now`` is the
        appliance's clock (aware, or naive UTC), never read here. The checkpoint after the
        commit is :meth:`checkpoint`'s (a refusal is not a failure of the upkeep).
        """
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
        day = datetime(now.year, now.month, now.day)
        month = datetime(now.year, now.month, 1)
        row = self.con.execute("SELECT value FROM settings WHERE key = 'retention_days'").fetchone()
        horizon = day - timedelta(days=int(row[0]) if row else 365)
        moved: dict[str, int] = {}
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
            moved["pages_daily"] = roll_up_pages(con, day)
            for table, key in (("supply_levels", "supply_id"), ("meter_reads", "source_id")):
                days, recent = f"{table}_days", f"{table}_recent"
                con.execute(
                    f"CREATE TEMP TABLE pw_tier AS SELECT * FROM {days} UNION ALL "
                    f"SELECT * FROM {recent} WHERE time < ?",
                    [day],
                )
                con.execute(f"DELETE FROM {days}")
                con.execute(f"DELETE FROM {recent} WHERE time < ?", [day])
                for target, where in ((table, "time < ?"), (days, "time >= ?")):
                    n = con.execute(
                        f"INSERT INTO {target} SELECT * FROM pw_tier WHERE {where} ORDER BY {key}, time",
                        [month],
                    ).fetchone()
                    moved[target] = int(n[0]) if n else 0
                con.execute("DROP TABLE pw_tier")
                for tier in (table, days):
                    con.execute(f"DELETE FROM {tier} WHERE time < ?", [horizon])
            for table in ("supply_events", "meter_events", "status_changes", "registry_events"):
                con.execute(f"DELETE FROM {table} WHERE time < ?", [horizon])
            con.execute("DELETE FROM pages_daily WHERE day < ?", [horizon.date()])
            con.execute("COMMIT")
        except (duckdb.Error, OSError) as err:
            self._recover()
            raise StoreError(f"store {self.path}: upkeep failed: {err}") from err
        self.checkpoint("upkeep", wait_s=UPKEEP_CHECKPOINT_WAIT_S)
        return moved

    def checkpoint(self, when: str, *, wait_s: float = 0.0) -> bool:
        """``CHECKPOINT``; returns whether DuckDB did it. DuckDB refuses while another
        connection to the file has a write transaction open (the uplink's sender recording an
        answer: milliseconds; an unread result once kept one open, see ``Outbox._first``). With
        ``wait_s`` (in a worker thread only: it sleeps) it is tried again every 20 ms for that
        long. Still refused: one warning line, no traceback, and the checkpoint is owed
        (:attr:`checkpoint_owed`) to :meth:`renew`, which closes every connection (the last
        close checkpoints). Other errors propagate."""
        deadline = _time.monotonic() + wait_s
        while True:
            try:
                self.con.execute("CHECKPOINT")
                break
            except duckdb.TransactionException as err:
                if _time.monotonic() < deadline:
                    _time.sleep(CHECKPOINT_RETRY_S)
                    continue
                level = logging.DEBUG if self.checkpoint_owed else logging.WARNING  # once, not per try
                self.checkpoint_owed = True
                log.log(level, "store %s: %s: checkpoint refused, retried at the renewal: %s",
                        self.path, when, err)  # fmt: skip
                return False
        self.checkpoint_owed = False
        return True

    def publish_snapshot(self) -> Path:
        """Write a read-only copy beside the store (``PATH.snapshot``) for other processes.

        DuckDB copies every table and view into a new file under a temporary name, renamed into
        place: a reader opens either the old or the new snapshot. (Not a file copy: opening and
        closing the store's file in the writer's process would drop the writer's POSIX lock on
        it — found the hard way: after ``shutil.copyfile`` another process could open it.)
        """
        target = self.path.with_name(self.path.name + SNAPSHOT_SUFFIX)
        tmp = target.with_name(target.name + ".tmp")
        with _suppress():
            tmp.unlink()
        quoted = str(tmp).replace("'", "''")
        try:
            self.con.execute(f"ATTACH '{quoted}' AS pw_snapshot")
            try:
                row = self.con.execute("SELECT current_database()").fetchone()
                name = str(row[0] if row else "main").replace('"', '""')
                self.con.execute(f'COPY FROM DATABASE "{name}" TO pw_snapshot')
            finally:
                self.con.execute("DETACH pw_snapshot")
            os.replace(tmp, target)
        except (duckdb.Error, OSError) as err:
            with _suppress():
                tmp.unlink()
            raise StoreError(f"store {self.path}: snapshot failed: {err}") from err
        return target

    def renew(
        self, companions: Sequence[Companion] = (), *, wait_s: float = 2.0, level: int = logging.WARNING
    ) -> bool:
        """Closes the database and opens it again (the appliance does it daily, after
        :meth:`maintain`); returns whether it did.

        Why: DuckDB (2.0.1) keeps memory from every query that builds a hash join (about 4-5 KB
        each: deleting a batch's replaced rows, the views' joins) for as long as the database is
        open in the process, and frees it when the last connection to the file closes; measured
        in ``tests/store/test_memory.py``. So every connection of this process to the file
        closes here: readers in flight (:meth:`reading`) are waited for, up to ``wait_s`` (new
        ones wait meanwhile; if they do not finish, nothing is closed and it returns False),
        then ``companions`` (the uplink's outbox) close, the store's connection closes, and
        both open again. The caller keeps every writer away (the store's own writes, and the
        companions' work). A checkpoint first, so the reopening replays no log. ``level``: of
        the line saying readers were still busy.

        Error handling: :class:`StoreError` if the file cannot be opened again (the next write
        reports it too and tries to reopen it); the companions are opened again whatever
        happened to the store's connection (the first that cannot be raises, once all were
        tried).
        """
        deadline = _time.monotonic() + wait_s
        with self._gate:
            self._renewing = True
            try:
                while self._readers:
                    left = deadline - _time.monotonic()
                    if left <= 0:
                        busy = self._readers
                        log.log(level, "store %s: not renewed: %d readers still busy", self.path, busy)
                        return False
                    self._gate.wait(left)
                if not self.checkpoint("renewal"):
                    log.info("store %s: checkpointed by closing every connection", self.path)
                for companion in companions:
                    companion.close()
                self.con.close()
                try:
                    self.con = self._connect()
                finally:
                    _reopen(companions)
                self.checkpoint_owed = False  # the last connection's close checkpointed
                self.renewals += 1
                return True
            finally:
                self._renewing = False
                self._gate.notify_all()

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for the reads (or the side tables' writes) of one thread, closed at the end:
        MVCC, it never blocks the writer. :meth:`renew` waits for these to finish."""
        with self._gate:
            while self._renewing:
                self._gate.wait()
            self._readers += 1
        try:
            cursor = self.con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            with self._gate:
                self._readers -= 1
                self._gate.notify_all()

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor for a one-off read, which the caller closes. Unlike :meth:`reading`,
        :meth:`renew` does not wait for it: long-lived code uses :meth:`reading`."""
        return self.con.cursor()


def _reopen(companions: Sequence[Companion]) -> None:
    """Opens each companion again; the first error, once every one was tried."""
    failed: BaseException | None = None
    for companion in companions:
        try:
            companion.reopen()
        except Exception as err:
            log.error("a companion of the store could not be opened again: %s", err)
            failed = failed or err
    if failed is not None:
        raise failed


def roll_up_pages(con: duckdb.DuckDBPyConnection, until: datetime) -> int:
    """Count the pages of the days before ``until`` into ``pages_daily``, inside the caller's
    transaction; returns the rows added (0 when those days are rolled up already).

    Each step between two reads counts once: on the day of the later read, rolled up when that
    read is before ``until``, else live in ``pages_per_day``. ``pages_frontier`` keeps each
    counted meter's last read before ``until``, from which the live steps start.
    """
    row = con.execute("SELECT value::TIMESTAMP_S FROM settings WHERE key = 'pages_rolled_until'").fetchone()
    if row is not None and row[0] >= until:
        return 0
    added = con.execute(
        "INSERT INTO pages_daily SELECT device_id, day, pages, discarded_steps FROM pages_live_per_day "
        "WHERE day < ?::DATE ORDER BY day, device_id",
        [until],
    ).fetchone()
    con.execute(
        """CREATE TEMP TABLE pw_frontier AS
           SELECT device_id, meter, max(time) AS time, arg_max(value, time) AS value FROM (
               SELECT p.device_id, p.meter, r.time, r.value
               FROM meter_reads_all r JOIN pages_sources p USING (source_id)
               WHERE r.time >= (SELECT value::TIMESTAMP_S FROM settings WHERE key = 'pages_rolled_until')
                 AND r.time < ?
               UNION ALL SELECT device_id, meter, time, value FROM pages_frontier
           ) GROUP BY ALL""",
        [until],
    )
    con.execute("DELETE FROM pages_frontier")
    con.execute("INSERT INTO pages_frontier SELECT * FROM pw_frontier ORDER BY device_id, meter")
    con.execute("DROP TABLE pw_frontier")
    con.execute("UPDATE settings SET value = ? WHERE key = 'pages_rolled_until'", [str(until)])
    return int(added[0]) if added else 0


def _insert(con: duckdb.DuckDBPyConnection, table: str, data: Any) -> None:
    con.register("pw_rows", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM pw_rows")
    finally:
        con.unregister("pw_rows")


def _replace(con: duckdb.DuckDBPyConnection, table: str, data: Any, key: list[str]) -> None:
    """Replace the rows of a one-row-per-key table by those of ``data`` (same columns)."""
    if not data.num_rows:
        return
    con.register("pw_rows", data)
    try:
        match = " AND ".join(f"t.{k} = pw_rows.{k}" for k in key)
        con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM pw_rows WHERE {match})")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM pw_rows")
    finally:
        con.unregister("pw_rows")


def _write_states(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """The batch's state rows: those that moved only in :data:`STATE_VOLATILE` (a steady
    cycle's every unchanged printer: its time, RTT, uptime) as one UPDATE joined with an Arrow
    table of those columns, the others replaced."""
    rows, moved = batch.latest["device_state"], batch.state_moved
    if moved is None or not rows.num_rows:
        _replace(con, "device_state", rows, ["device_id"])
        return
    _replace(con, "device_state", rows.filter(moved), ["device_id"])
    volatile = rows.filter(pc.invert(moved)).select(["device_id", *STATE_VOLATILE])
    if not volatile.num_rows:
        return
    con.register("pw_state", volatile)
    try:
        columns = ", ".join(f"{c} = u.{c}" for c in STATE_VOLATILE)
        con.execute(
            f"UPDATE device_state SET {columns} FROM pw_state u WHERE device_state.device_id = u.device_id"
        )
    finally:
        con.unregister("pw_state")


@contextmanager
def _suppress() -> Iterator[None]:
    try:
        yield
    except (duckdb.Error, OSError) as err:
        log.debug("ignored while recovering: %s", err)


def _listed(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch's documents as a list of its own, keeping which are unchanged (their answers:
    :class:`~printwatch.mib.interpret.Documents`) when the batch says so."""
    if isinstance(docs, Documents):
        return Documents(docs, docs.answers)
    return list(docs)

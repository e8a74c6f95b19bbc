"""The store's renewal after a write that grew the process's memory (service/memory.py,
StoreSink.ingest): the database and the uplink's outbox closed and opened again, nothing lost,
at most once per growth, never waiting long for a reader."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.config.model import Config
from printwatch.scheduler import MemoryState, TrioWallClock
from printwatch.service.appliance import Appliance
from printwatch.service.memory import RenewalPolicy, resident_bytes
from printwatch.service.metrics import render_metrics
from printwatch.service.sinks import StoreSink
from printwatch.store import Store, StoreError
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity

from tests.support.fakes import FakePoller, contract_doc

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
PRINTERS = [(f"10.0.0.{i}", 161) for i in range(1, 6)]
MB = 2**20


class Resident:
    """A resident memory the test sets (bytes)."""

    def __init__(self, value: int | None) -> None:
        self.value = value

    def __call__(self) -> int | None:
        return self.value


def test_the_policy_is_due_once_per_growth_from_the_last_renewal() -> None:
    rss = Resident(100 * MB)
    policy = RenewalPolicy(growth=48 * MB, resident=rss)
    assert not policy.due()
    rss.value = 147 * MB
    assert not policy.due()
    rss.value = 148 * MB
    assert policy.due() and policy.due()  # due until renewed
    rss.value = 130 * MB  # what the renewal gave back
    policy.renewed()
    rss.value = 170 * MB
    assert not policy.due()
    rss.value = 178 * MB
    assert policy.due()


def test_the_policy_without_a_reading_or_a_threshold_is_never_due() -> None:
    assert not RenewalPolicy(growth=48 * MB, resident=Resident(None)).due()
    rss = Resident(None)
    policy = RenewalPolicy(growth=48 * MB, resident=rss)
    rss.value = 500 * MB  # the first reading is the baseline
    assert not policy.due()
    rss.value = 900 * MB
    assert policy.due()
    assert not RenewalPolicy(growth=0, resident=Resident(900 * MB)).due()


def test_the_real_reading_is_this_process_resident_memory() -> None:
    rss = resident_bytes()
    assert rss is not None and 10 * MB < rss < 64 * 2**30


def last_polls(sink: StoreSink) -> list[tuple[dt.datetime, int]]:
    """(a poll's time, devices whose last poll it was) as the store holds them."""
    with sink.store.reading() as con:
        return [
            (t, int(n))
            for t, n in con.execute(
                "SELECT last_poll_at, count(*) FROM device_state GROUP BY ALL ORDER BY 1"
            ).fetchall()
        ]


def at(minutes: int) -> dt.datetime:
    return (T0 + dt.timedelta(minutes=minutes)).replace(tzinfo=None)


async def test_a_write_that_grew_the_memory_renews_the_store_and_the_outbox_and_loses_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.duckdb"
    rss = Resident(200 * MB)
    sink = StoreSink(Store(path, poll_interval_s=60.0), renewal=RenewalPolicy(growth=48 * MB, resident=rss))
    box = Outbox(path, Identity.generate(), "site")
    sink.share_file(box, trio.CapacityLimiter(1))
    try:
        first = box.enqueue("sync", {"sv": 0}, T0)
        await sink.ingest([contract_doc(d, 1, T0) for d in PRINTERS])
        assert sink.store.renewals == 0 and sink.renewals_after_writes == 0
        old_store, old_box = sink.store.con, box.con
        rss.value = 260 * MB  # the write grew the process
        await sink.ingest([contract_doc(d, 2, T0 + dt.timedelta(minutes=1)) for d in PRINTERS])
        assert sink.store.renewals == 1 and sink.renewals_after_writes == 1
        assert sink.store.con is not old_store and box.con is not old_box
        # Both writes are there, and both connections work on the reopened file.
        assert last_polls(sink) == [(at(1), len(PRINTERS))]
        assert box.enqueue("sync", {"sv": 0}, T0) == first + 1
        assert box.pending()[0] == 2
        await sink.ingest([contract_doc(d, 3, T0 + dt.timedelta(minutes=2)) for d in PRINTERS])
        assert sink.store.renewals == 1  # no more growth since: not again
        rss.value = 320 * MB
        await sink.ingest([contract_doc(d, 4, T0 + dt.timedelta(minutes=3)) for d in PRINTERS])
        assert sink.store.renewals == 2
        assert last_polls(sink) == [(at(3), len(PRINTERS))]
    finally:
        box.close()
        await sink.close()


@pytest.mark.faketime_unsafe  # the renewal waits for the reader on a lock with a timeout
async def test_a_reader_in_flight_puts_the_renewal_off_without_holding_the_write(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    rss = Resident(200 * MB)
    sink = StoreSink(Store(path, poll_interval_s=60.0), renewal=RenewalPolicy(growth=48 * MB, resident=rss))
    try:
        await sink.ingest([contract_doc(d, 1, T0) for d in PRINTERS])
        rss.value = 300 * MB
        with sink.store.reading() as con:  # the dashboard reading while the cycle writes
            t0 = time.monotonic()
            await sink.ingest([contract_doc(d, 2, T0 + dt.timedelta(minutes=1)) for d in PRINTERS])
            waited = time.monotonic() - t0
            assert con.execute("SELECT count(*) FROM devices").fetchone() == (len(PRINTERS),)
        assert sink.store.renewals == 0 and waited < 1.0
        # Still due: the next write renews.
        await sink.ingest([contract_doc(d, 3, T0 + dt.timedelta(minutes=2)) for d in PRINTERS])
        assert sink.store.renewals == 1 and sink.renewals_after_writes == 1
    finally:
        await sink.close()


async def test_metrics_count_the_renewals(tmp_path: Path) -> None:
    rss = Resident(200 * MB)
    sink = StoreSink(
        Store(tmp_path / "history.duckdb", poll_interval_s=60.0),
        renewal=RenewalPolicy(growth=48 * MB, resident=rss),
    )
    app = Appliance(Config(devices=tuple(PRINTERS)), poller=FakePoller(1.0), sink=sink, state=MemoryState(),
                    clock=TrioWallClock(T0))  # fmt: skip
    try:
        assert "printwatch_store_renewals_total 0" in render_metrics(app).splitlines()
        rss.value = 300 * MB
        await sink.ingest([contract_doc(d, 1, T0) for d in PRINTERS])
        assert "printwatch_store_renewals_total 1" in render_metrics(app).splitlines()
    finally:
        await sink.close()


async def test_a_renewal_that_fails_leaves_the_write_and_the_outbox_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.duckdb"
    rss = Resident(200 * MB)
    store = Store(path, poll_interval_s=60.0)
    sink = StoreSink(store, renewal=RenewalPolicy(growth=48 * MB, resident=rss))
    box = Outbox(path, Identity.generate(), "site")
    sink.share_file(box, trio.CapacityLimiter(1))
    try:
        await sink.ingest([contract_doc(d, 1, T0) for d in PRINTERS])
        connect = store._connect

        def refused() -> Any:
            raise StoreError(f"store {path}: the disk went away")

        monkeypatch.setattr(store, "_connect", refused)
        rss.value = 300 * MB
        with caplog.at_level(logging.ERROR, logger="printwatch.service.sinks"):  # and no exception
            await sink.ingest([contract_doc(d, 2, T0 + dt.timedelta(minutes=1)) for d in PRINTERS])
        assert any("renewal after a write failed" in r.getMessage() for r in caplog.records)
        assert sink.last is not None and sink.last.error is None and sink.renewals_after_writes == 0
        assert box.pending()[0] == 0  # the outbox was opened again
        monkeypatch.setattr(store, "_connect", connect)
        # The store's connection is closed: the next write fails, reopens, and the one after
        # writes both; nothing is lost.
        await sink.ingest([contract_doc(d, 3, T0 + dt.timedelta(minutes=2)) for d in PRINTERS])
        await sink.ingest([contract_doc(d, 4, T0 + dt.timedelta(minutes=3)) for d in PRINTERS])
        assert sink.last is not None and sink.last.error is None and sink.last.pending == 0
        assert last_polls(sink) == [(at(3), len(PRINTERS))]
        assert box.enqueue("sync", {"sv": 0}, T0) == 1
    finally:
        box.close()
        await sink.close()


async def test_without_a_policy_only_the_upkeep_renews(tmp_path: Path) -> None:
    sink = StoreSink(Store(tmp_path / "history.duckdb", poll_interval_s=60.0))
    try:
        for n in range(3):
            await sink.ingest([contract_doc(d, n, T0 + dt.timedelta(minutes=n)) for d in PRINTERS])
        assert sink.store.renewals == 0
        await sink.upkeep(T0 + dt.timedelta(hours=1))
        assert sink.store.renewals == 1 and sink.renewals_after_writes == 0
    finally:
        await sink.close()

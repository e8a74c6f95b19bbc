"""The daily upkeep's checkpoint with the appliance's two connections to the store's file (the
store's and the uplink outbox's), and the upkeep's date taken from the appliance's clock."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import pytest
import trio
from printwatch.service.sinks import StoreSink
from printwatch.store import Store
from printwatch.store import store as store_module
from printwatch.store.store import DUCKDB_CONFIG
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity

from tests.support.fakes import contract_doc

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PRINTERS = [(f"10.0.0.{i}", 161) for i in range(1, 4)]


def poll(store: Store, n: int, when: dt.datetime) -> None:
    store.ingest([contract_doc(device, n, when) for device in PRINTERS])


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "checkpoint refused" in r.getMessage() and r.levelno >= logging.WARNING
    ]


def test_the_outbox_reads_as_the_uplink_makes_them_leave_the_upkeep_free_to_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.duckdb"
    with Store(path) as store:
        poll(store, 1, T0)
        box = Outbox(path, Identity.generate(), "s")  # as the appliance opens it, beside the store
        box.enqueue("sync", {"sv": 0}, T0)
        # The sender's reads between two messages: the head, the count, the state, the budget.
        assert box.head() is not None and box.pending()[0] == 1
        assert box.get_state("next_seq") == "2" and box.next_seq() == 2 and box.head_seq() == 1
        assert box.spent(T0.date()) > 0
        poll(store, 2, T0 + DAY)
        with caplog.at_level(logging.WARNING, logger="printwatch.store.store"):
            store.maintain(T0 + 2 * DAY)
        assert refusals(caplog) == [] and not store.checkpoint_owed
        box.close()
    assert (
        not path.with_name(path.name + ".wal").exists()
        or path.with_name(path.name + ".wal").stat().st_size == 0
    )


def test_the_upkeep_waits_out_another_connections_write_and_checkpoints(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uplink's sender writes to the same file between polls (an answer recorded): an
    upkeep that comes in the middle of that write tries again and checkpoints, with no warning
    and nothing owed to the renewal."""
    path = tmp_path / "history.duckdb"
    with Store(path) as store:
        poll(store, 1, T0)
        poll(store, 2, T0 + DAY)
        other = duckdb.connect(str(path), config=DUCKDB_CONFIG)
        other.execute("BEGIN")
        other.execute("UPDATE settings SET value = value")  # a write transaction, left open
        waits: list[float] = []
        real_sleep = store_module._time.sleep

        def sleep(s: float) -> None:  # the store's wait between two tries: the write ends then
            waits.append(s)
            if len(waits) == 2:
                other.execute("COMMIT")
            real_sleep(s)

        monkeypatch.setattr(store_module._time, "sleep", sleep)
        with caplog.at_level(logging.WARNING, logger="printwatch.store.store"):
            store.maintain(T0 + 2 * DAY)
        other.close()
        assert refusals(caplog) == [] and not store.checkpoint_owed
        assert len(waits) == 2 and all(w == store_module.CHECKPOINT_RETRY_S for w in waits)


class RawCompanion:
    """A connection that leaves a result unread (``fetchone`` of a query): what the outbox did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reopen()

    def close(self) -> None:
        self.con.close()

    def reopen(self) -> None:
        self.con = duckdb.connect(str(self.path), config=DUCKDB_CONFIG)

    def read_and_leave(self) -> None:
        assert self.con.execute("SELECT count(*) FROM uplink_outbox").fetchone() is not None


async def test_a_refused_checkpoint_is_one_warning_and_made_at_the_renewal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.duckdb"
    sink = StoreSink(Store(path))
    try:
        poll(sink.store, 1, T0)
        other = RawCompanion(path)
        other.read_and_leave()
        poll(sink.store, 2, T0 + DAY)
        sink.share_file(other, trio.CapacityLimiter(1))
        with caplog.at_level(logging.INFO, logger="printwatch.store.store"):
            await sink.upkeep(T0 + 2 * DAY)  # no exception: the upkeep's rows are committed
        assert len(refusals(caplog)) == 1  # the renewal's own try is refused too, not logged again
        assert not any(r.exc_info for r in caplog.records)
        assert sink.store.renewals == 1 and not sink.store.checkpoint_owed
        assert other.con.execute("SELECT count(*) FROM uplink_outbox").fetchall() == [(0,)]
        with sink.store.reading() as con:
            assert con.execute(
                "SELECT count(*) FROM supply_levels_recent WHERE time < ?", [dt.datetime(2026, 3, 12)]
            ).fetchall() == [(0,)]
        other.close()
    finally:
        await sink.close()


async def test_the_upkeep_tiers_and_rolls_up_by_the_date_it_is_given(tmp_path: Path) -> None:
    """At a simulated date (the demo's history), not the real one: days before it are rolled
    up and leave the recent tier, the day itself stays."""
    path = tmp_path / "history.duckdb"
    sink = StoreSink(Store(path))
    try:
        for n in range(4):
            poll(sink.store, n + 1, T0 + n * DAY)
        with sink.store.reading() as con:
            recent = con.execute("SELECT count(*) FROM supply_levels_recent").fetchall()[0][0]
            assert con.execute("SELECT count(*) FROM pages_daily").fetchall() == [(0,)]
        await sink.upkeep(T0 + 3 * DAY)  # 2026-03-13 10:00: the 10th to the 12th are closed
        with sink.store.reading() as con:
            days = [d for (d,) in con.execute("SELECT DISTINCT day FROM pages_daily ORDER BY day").fetchall()]
            left = con.execute("SELECT min(time), count(*) FROM supply_levels_recent").fetchall()[0]
            tiered = con.execute("SELECT count(*) FROM supply_levels_days").fetchall()[0][0]
        assert days and max(days) <= dt.date(2026, 3, 12) and min(days) >= dt.date(2026, 3, 10)
        assert left[0] >= dt.datetime(2026, 3, 13) and 0 < left[1] < recent
        assert tiered == recent - left[1]
    finally:
        await sink.close()

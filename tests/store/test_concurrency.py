"""Readers never block the writer, and ingestion never blocks the Trio loop."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import trio
from printwatch.store import Store

from tests.store.docs import T0, doc
from tests.store.writer_child import cycle


def test_a_reader_in_a_transaction_does_not_hold_up_a_commit_and_sees_one_snapshot(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0) as store:
        store.ingest([doc("10.0.0.1", T0)])
        reader = store.reader()
        reader.execute("BEGIN TRANSACTION")
        assert reader.execute("SELECT count(*) FROM meter_history").fetchone() == (1,)
        done = threading.Event()

        def write() -> None:
            store.ingest([doc("10.0.0.1", T0 + timedelta(minutes=5), total=1100)])
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        # The commit goes through while the reader's transaction is open ...
        assert done.wait(timeout=30)
        writer.join()
        # ... and the reader keeps its snapshot until it ends its transaction.
        assert reader.execute("SELECT count(*) FROM meter_history").fetchone() == (1,)
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM meter_history").fetchone() == (2,)


@pytest.mark.realtime
async def test_ingest_async_keeps_the_trio_loop_running(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb", meter_interval_s=0) as store:
        docs = cycle(0, 4000)
        stamps: list[float] = []
        async with trio.open_nursery() as nursery:

            async def tick() -> None:
                while True:
                    stamps.append(trio.current_time())
                    await trio.sleep(0.005)

            nursery.start_soon(tick)
            await trio.sleep(0.02)
            started = trio.current_time()
            result = await store.ingest_async(docs)
            elapsed = trio.current_time() - started
            nursery.cancel_scope.cancel()
        assert result.error is None and result.devices == 4000
        # The loop ticked all along: a blocked loop would show one pause as long as the whole
        # ingestion. (Pauses are the worker's stretches of C code holding the GIL — Arrow
        # conversions — about a quarter of the ingestion at worst on a loaded machine.)
        during = [t for t in stamps if started <= t <= started + elapsed]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert len(during) >= 10 and max(gaps) < elapsed / 2, (len(during), max(gaps), elapsed)

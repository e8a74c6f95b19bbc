"""The store as the appliance's sink: cycles written, the day's upkeep and snapshot done."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from printwatch.store.sink import StoreSink

from tests.store.docs import T0, doc


@pytest.mark.trio
async def test_store_sink_writes_cycles_and_publishes_a_snapshot(tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "history.duckdb", meter_interval_s=0)
    assert "history.duckdb" in sink.describe()
    await sink.ingest([doc("10.0.0.1", T0), doc("10.0.0.2", T0, serial="BRN0012345")])
    await sink.ingest([doc("10.0.0.1", T0.replace(minute=5), total=1010)])
    cursor = sink.store.reader()
    assert cursor.execute("SELECT count(*) FROM meter_history").fetchone() == (3,)
    await sink.close()
    snapshot = duckdb.connect(str(tmp_path / "history.duckdb.snapshot"), read_only=True)
    # The snapshot was published after the first cycle (the day's upkeep), before the second.
    assert snapshot.execute("SELECT count(*) FROM devices").fetchone() == (2,)
    snapshot.close()

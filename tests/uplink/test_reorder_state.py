"""The reorder triggers' state in the outbox: a cycle's changes written in two statements,
the last change of each supply winning, kept across a reopen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def test_a_cycles_changes_last_one_wins_and_are_kept_across_a_reopen(tmp_path: Path) -> None:
    path, me = tmp_path / "history.duckdb", Identity.generate()
    box = Outbox(path, me, "site-a")
    supplies = [(f"serial:P{n:04d}", i) for n in range(300) for i in (1, 2, 3, 4)]
    box.save_reorder_state([(who, i, 50.0, None, None) for who, i in supplies])
    # The next cycle: every supply again, one of them twice (re-armed, then fired at once).
    rows: list[tuple[str, int, float | None, dt.datetime | None, str | None]] = [
        (who, i, 40.0 + i, None, None) for who, i in supplies
    ]
    rows.append(("serial:P0007", 2, 12.0, T0, "reorder_point"))
    box.save_reorder_state(rows)
    box.close()
    box = Outbox(path, me, "site-a")
    state = box.reorder_state()
    assert len(state) == len(supplies)
    assert state[("serial:P0007", 2)] == (12.0, True)
    assert state[("serial:P0299", 4)] == (44.0, False)
    assert all(state[k][0] == 40.0 + k[1] for k in supplies if k != ("serial:P0007", 2))
    box.close()

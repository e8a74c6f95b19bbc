"""Settled devices (:class:`printwatch.store.ingest.Ingestor`): a document whose supplies,
meters, counters, trays, alerts and warnings are those of the device's last document, which
kept nothing, is not gone through again. The rows kept must be those kept without the shortcut,
whatever the sequence: checked against an ingestor that never takes it."""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import Any

import pyarrow as pa
from printwatch.store.ingest import Batch, Ingestor, Settings
from printwatch.store.registry import Registry

from tests.store.docs import doc, every


class NeverSettled(Ingestor):
    """The reference: every document gone through."""

    @staticmethod
    def _mark(doc: dict[str, Any]) -> bytes | None:
        return None


def tables(batch: Batch) -> dict[str, Any]:
    both: dict[str, pa.Table] = {**batch.tables, **batch.latest}
    return {name: table.to_pylist() for name, table in both.items()} | {
        "state_moved": None if batch.state_moved is None else batch.state_moved.to_pylist()
    }


def pair() -> tuple[Ingestor, Ingestor]:
    settings = Settings(meter_interval_s=3600)
    return Ingestor(Registry(), settings), NeverSettled(Registry(), settings)


def test_identical_documents_settle_and_keep_what_the_reference_keeps() -> None:
    """The usual status cycle: nothing moved, so after the first document nothing is gone
    through again; the state rows (time, RTT, uptime) still follow every poll."""
    fast, slow = pair()
    for i, t in enumerate(every(1, 10)):
        docs = [doc(f"10.0.0.{n}", t, serial=f"S{n}", total=1000, black=500) for n in range(1, 4)]
        for d in docs:
            d["rtt_ms"] = 0.4 + i / 10
            d["sys"]["uptime_s"] = 1234 + 60 * i
        assert tables(fast.batch(copy.deepcopy(docs))) == tables(slow.batch(docs))
    assert fast.settled_hits == 3 * 8  # the first keeps new series; the second settles them
    assert fast.states.rows == slow.states.rows


def test_a_small_move_is_kept_once_its_interval_passes_though_nothing_moves_after() -> None:
    """A meter moved by a little is not kept before the meter interval has passed; the same
    documents after that must not count as settled, or the read would never be kept."""
    fast, slow = pair()
    times = every(10, 10)
    reads = []
    for i, t in enumerate(times):
        total = 1000 if i == 0 else 1003  # moved once, then the same for 90 minutes
        a = tables(fast.batch([doc("10.0.0.1", t, total=total)]))
        assert a == tables(slow.batch([doc("10.0.0.1", t, total=total)]))
        reads += [(r["time"], r["value"]) for r in a["meter_reads_recent"]]
    assert reads == [(times[0], 1000), (times[6], 1003)]  # kept an hour after the first read
    assert fast.meters.rows() == slow.meters.rows()


def test_random_sequences_keep_the_same_rows_as_the_reference() -> None:
    """Seeded sequences of moves, replacements, losses, new counters and changed trays."""
    for seed in range(6):
        rng = random.Random(seed)
        fast, slow = pair()
        state = {n: {"total": 1000 * n, "black": 400 * n, "toner": 90.0} for n in range(1, 7)}
        for t in every(7, 60):
            docs = []
            for n, s in state.items():
                move = rng.random()
                if move < 0.1:
                    s["total"] += rng.choice([1, 2, 50, 5000, -3])
                elif move < 0.15:
                    s["toner"] = max(0.0, s["toner"] - rng.choice([0.4, 1.0, 3.0]))
                elif move < 0.17:
                    s["toner"] = 100.0  # replaced
                d = doc(f"10.0.1.{n}", t, serial=f"R{n}", total=int(s["total"]), black=int(s["black"]),
                        toner=s["toner"], reachable=rng.random() > 0.05)  # fmt: skip
                if d["reachable"] and rng.random() < 0.05:
                    d["trays"][0]["level"] = rng.randrange(250)
                if d["reachable"] and rng.random() < 0.03:
                    d["counters"] = [{"oid": "1.3.6.1.4.1.9.1", "name": "scans", "value": rng.randrange(9)}]
                if d["reachable"] and rng.random() < 0.03:
                    d["warnings"] = ["odd answer"]
                docs.append(d)
            assert tables(fast.batch(copy.deepcopy(docs))) == tables(slow.batch(docs)), (seed, t)
        assert fast.settled_hits > 0
        assert (fast.meters.rows(), fast.supplies.rows(), fast.states.rows) == (
            slow.meters.rows(),
            slow.supplies.rows(),
            slow.states.rows,
        )


def test_same_values_of_another_type_are_not_the_same_document() -> None:
    """1 and True, 80 and 80.0 are equal in Python; the fingerprint tells them apart."""
    t0, t1 = every(1, 2)
    d = doc("10.0.0.9", t0)
    fast, _ = pair()
    fast.batch([d])
    fast.batch([doc("10.0.0.9", t1)])
    other = doc("10.0.0.9", datetime(2026, 11, 1, 0, 2))
    other["supplies"][0]["coarse"] = 0  # False == 0
    assert Ingestor._mark(other) != Ingestor._mark(d)

"""A device's state row that moved only in its volatile columns (last poll, RTT, uptime: every
steady poll of an unchanged printer) is written as one UPDATE of those columns for the whole
batch, not replaced (:data:`printwatch.store.ingest.STATE_VOLATILE`). Every reader must see the
rows it saw when each one was replaced: checked against a store that replaces every row, over
seeded sequences of plain documents and documents of the answer cache."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
from printwatch.mib.interpret import Answer, Documents
from printwatch.store import Store
from printwatch.store.ingest import Batch, Ingestor, Settings
from printwatch.store.registry import Registry

from tests.store.docs import doc, every, iso


class ReplacesEveryRow(Ingestor):
    """The reference: every state row of a batch written by a replace (the writer's old way)."""

    def batch(self, docs: list[dict[str, Any]], **slice_of: Any) -> Batch:
        out = super().batch(docs, **slice_of)
        out.state_moved = None
        return out


def reference(path: Path) -> Store:
    store = Store(path)
    store.ingestor = ReplacesEveryRow(store.registry, store.settings)
    store.ingestor.load(store.con)
    return store


READS = {
    "device_state": "SELECT * FROM device_state ORDER BY device_id",
    "status_changes": "SELECT * FROM status_changes ORDER BY device_id, time",
    "devices": "SELECT * FROM devices ORDER BY device_id",
    "devices_view_state": "SELECT * FROM devices_view_state ORDER BY device_id",
}


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.reading() as cur:
        return {name: cur.execute(sql).fetchall() for name, sql in READS.items()}


def cycles(seed: int, count: int = 24, printers: int = 8) -> list[Documents]:
    """Cycles of documents as the poller gives them: mostly of each printer's last answer (new
    time, RTT, uptime), sometimes a new answer (status, meters, trays), a lost poll, another
    SNMP version, another port, or a plain document made without the cache."""
    rng = random.Random(seed)
    answers: dict[int, Answer] = {}
    totals = {n: 1000 * n for n in range(printers)}
    ports = dict.fromkeys(range(printers), 161)
    out = []
    for i, t in enumerate(every(1, count)):
        docs: list[dict[str, Any]] = []
        made_from: list[Answer | None] = []
        for n in range(printers):
            address = f"10.0.2.{n + 1}"
            move = rng.random()
            if move < 0.05:
                docs.append(doc(address, t, reachable=False, port=ports[n]))
                made_from.append(None)
                continue
            if move < 0.08:
                ports[n] = rng.choice([161, 1161])
            if n not in answers or move < 0.2:
                totals[n] += rng.choice([0, 1, 40])
                base = doc(address, t, serial=f"U{n}", total=totals[n], port=ports[n])
                base["status"] = {"device": rng.choice(["running", "warning"]), "printer": "idle",
                                  "errors": rng.choice([[], ["lowToner"]])}  # fmt: skip
                base["trays"][0]["level"] = rng.randrange(250)
                answers[n] = Answer(f"{n}-{i}".encode(), base)
            version = "1" if rng.random() < 0.05 else "2c"
            rtt = rng.choice([0.3, 0.4, 1.5])
            d = answers[n].document(
                f"{address}:{ports[n]}", version=version, rtt_ms=rtt, time=iso(t), uptime_s=1234 + 60 * i
            )
            plain = rng.random() < 0.1
            docs.append(dict(d) if plain else d)
            made_from.append(None if plain else answers[n])
        out.append(Documents(docs, made_from))
    return out


def test_updated_state_rows_read_as_replaced_ones(tmp_path: Path) -> None:
    for seed in range(3):
        with (
            Store(tmp_path / f"u{seed}.duckdb") as updated,
            reference(tmp_path / f"r{seed}.duckdb") as replaced,
        ):
            for n, batch in enumerate(cycles(seed)):
                a = updated.ingest(batch)
                b = replaced.ingest(Documents(list(batch), batch.answers))
                assert (a.error, b.error, a.refused) == (None, None, [])
                assert contents(updated) == contents(replaced), (seed, n)
            assert updated.ingestor.state_updates > 0  # the update path ran
            assert replaced.ingestor.states.rows == updated.ingestor.states.rows


def test_a_plain_batch_updates_too_and_a_reopened_store_reads_the_same_rows(tmp_path: Path) -> None:
    """Plain documents (no answers) whose state moved only in time, RTT and uptime take the
    update; the state read back on open is the state held."""
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        for i, t in enumerate(every(1, 4)):
            docs = [doc(f"10.0.3.{n}", t, serial=f"P{n}") for n in range(1, 4)]
            for d in docs:
                d["rtt_ms"], d["sys"]["uptime_s"] = 0.5 + i, 100 + i
            store.ingest(docs)
        held = dict(store.ingestor.states.rows)
        assert store.ingestor.state_updates == 9  # every cycle after the first
    with Store(path) as again:
        assert again.ingestor.states.rows == held
        rows = contents(again)["device_state"]
        assert [(r[8], r[9]) for r in rows] == [(3.5, 103)] * 3


def test_the_mask_marks_only_rows_that_moved_outside_the_volatile_columns() -> None:
    ing = Ingestor(Registry(), Settings())
    t0, t1, t2 = every(1, 3)

    def mask(*docs: dict[str, Any]) -> list[bool]:
        moved = ing.batch(list(docs)).state_moved
        assert isinstance(moved, pa.Array)
        return [bool(m) for m in moved.to_pylist()]

    assert mask(doc("10.0.4.1", t0, serial="A"), doc("10.0.4.2", t0, serial="B")) == [True, True]
    moved = doc("10.0.4.2", t1, serial="B")
    moved["status"]["device"] = "warning"
    assert mask(doc("10.0.4.1", t1, serial="A"), moved) == [False, True]
    lost, still = doc("10.0.4.1", t2, reachable=False), doc("10.0.4.2", t2, serial="B")
    still["status"]["device"] = "warning"
    assert mask(lost, still) == [True, False]

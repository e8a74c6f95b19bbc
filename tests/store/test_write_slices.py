"""A cycle written a slice at a time (Store.write_slice, Ingestor.batches) is the cycle written
whole: every table the same, the same refusals, one transaction (a failure leaves nothing of
the cycle), and each slice's rows made only when the last are written."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
from printwatch.mib.interpret import Answer, Documents
from printwatch.store import Store
from printwatch.store import store as store_module

from tests.store.docs import doc, every, iso
from tests.support.store_tables import table_rows


def tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.reading() as cur:
        return table_rows(cur)


def cycles(seed: int, count: int = 12, printers: int = 11) -> list[list[dict[str, Any]]]:
    """Cycles whose documents cross slices of 3 in every way a cycle can: a printer answering
    at two addresses (its second document in a later slice), new printers, lost polls, meters
    and toner moving, a replaced printer, a refused document, and documents of the poller's
    answer cache (Documents) beside plain ones."""
    rng = random.Random(seed)
    totals = {n: 1000 * (n + 1) for n in range(printers)}
    toner = dict.fromkeys(range(printers), 90.0)
    serials = {n: f"S{n}" for n in range(printers)}
    answers: dict[int, Answer] = {}
    out: list[list[dict[str, Any]]] = []
    for i, t in enumerate(every(5, count)):
        docs: list[dict[str, Any]] = []
        made_from: list[Answer | None] = []
        for n in range(printers if i else printers - 3):  # three printers appear later
            address = f"10.0.7.{n + 1}"
            roll = rng.random()
            if roll < 0.1:
                docs.append(doc(address, t, reachable=False))
                made_from.append(None)
                continue
            if roll < 0.13:
                serials[n] = f"S{n}-{i}"  # another printer at the address
                answers.pop(n, None)
            if n not in answers or roll < 0.4:
                totals[n] += rng.choice([0, 3, 250, 90_000])  # nothing, pages, a jump
                toner[n] = max(0.0, toner[n] - rng.choice([0.0, 1.0, 30.0]))
                answers[n] = Answer(f"{n}-{i}".encode(), doc(address, t, serial=serials[n],
                                                              total=totals[n], toner=toner[n]))  # fmt: skip
            d = answers[n].document(f"{address}:161", version="2c", rtt_ms=0.4, time=iso(t), uptime_s=60 * i)
            plain = rng.random() < 0.2
            docs.append(dict(d) if plain else d)
            made_from.append(None if plain else answers[n])
        # printer 0 also answers at a second address, later in the cycle: filed once
        docs.append(doc("10.0.7.200", t, serial=serials[0], total=totals[0]))
        made_from.append(None)
        if i % 4 == 2:
            docs.insert(4, {"target": "10.0.7.201:161", "reachable": True, "time": "not a time"})
            made_from.insert(4, None)
        out.append(Documents(docs, made_from) if i % 3 else docs)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cycle_written_in_slices_is_the_cycle_written_whole(tmp_path: Path, seed: int) -> None:
    with (
        Store(tmp_path / "sliced.duckdb", write_slice=3) as sliced,
        Store(tmp_path / "whole.duckdb") as whole,
    ):
        # the reference: one batch of the cycle as given (the write before slices)
        whole.ingestor.batches = lambda docs, size: iter([whole.ingestor.batch(docs)])  # type: ignore[method-assign]
        for n, docs in enumerate(cycles(seed)):
            copy = Documents(list(docs), docs.answers) if isinstance(docs, Documents) else list(docs)
            a, b = sliced.ingest(docs), whole.ingest(copy)
            assert (a.error, b.error) == (None, None)
            assert a.refused == b.refused and (n % 4 != 2 or len(a.refused) == 1), (n, a.refused)
            assert (a.documents, a.devices, a.supply_rows, a.meter_rows, a.events) == (
                b.documents, b.devices, b.supply_rows, b.meter_rows, b.events
            ), n  # fmt: skip
            assert tables(sliced) == tables(whole), (seed, n)
        assert sliced.ingestor.states.rows == whole.ingestor.states.rows
        assert sliced.ingestor.settled == whole.ingestor.settled
        # the answers went with their slices: unchanged documents were told apart as whole
        assert sliced.ingestor.settled_answers == whole.ingestor.settled_answers
        assert sliced.ingestor.settled_answers


def test_a_slice_that_fails_leaves_nothing_of_the_cycle_and_the_retry_writes_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0, t1 = every(5, 2)
    docs = [doc(f"10.0.8.{n}", t0, serial=f"F{n}") for n in range(1, 8)]
    with Store(tmp_path / "s.duckdb", write_slice=3) as store, Store(tmp_path / "w.duckdb") as whole:
        store.ingest(docs)
        whole.ingest(docs)
        before = tables(store)
        inserts = 0
        real = store_module._insert

        def third_slice_fails(con: duckdb.DuckDBPyConnection, name: str, table: Any) -> None:
            nonlocal inserts
            if name == "supply_levels_recent":
                inserts += 1
                if inserts == 3:
                    raise duckdb.IOException("No space left on device")
            real(con, name, table)

        next_cycle = [doc(f"10.0.8.{n}", t1, serial=f"F{n}", total=2000, toner=40.0) for n in range(1, 8)]
        monkeypatch.setattr(store_module, "_insert", third_slice_fails)
        failed = store.ingest(next_cycle)
        assert inserts == 3  # two slices written in the transaction, the third failed
        assert failed.error is not None and "No space left" in failed.error and failed.pending == 1
        assert tables(store) == before  # the first slices were rolled back with it
        monkeypatch.setattr(store_module, "_insert", real)
        retried = store.ingest([])
        whole.ingest(next_cycle)
        # the pending cycle, then the empty one this call brought
        assert (retried.error, retried.written, retried.documents, retried.pending) == (None, 2, 7, 0)
        assert tables(store) == tables(whole)


def test_each_slice_is_made_after_the_last_one_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the slices: the rows of one slice at a time are alive, not a cycle's."""
    t0 = every(5, 1)[0]
    events: list[str] = []
    real_replace = store_module._replace

    def replace(con: duckdb.DuckDBPyConnection, name: str, table: Any, keys: list[str]) -> None:
        if name == "supply_latest":
            events.append(f"wrote {table.num_rows}")
        real_replace(con, name, table, keys)

    with Store(tmp_path / "s.duckdb", write_slice=4) as store:
        real_batch = store.ingestor.batch

        def batch(docs: list[dict[str, Any]], **kw: Any) -> Any:
            events.append(f"made {len(docs)}")
            return real_batch(docs, **kw)

        store.ingestor.batch = batch  # type: ignore[method-assign]
        monkeypatch.setattr(store_module, "_replace", replace)
        result = store.ingest([doc(f"10.0.9.{n}", t0, serial=f"M{n}") for n in range(1, 11)])
        assert result.devices == 10
        assert events == ["made 4", "wrote 4", "made 4", "wrote 4", "made 2", "wrote 2"]


def test_a_slice_must_hold_a_document(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="write_slice must be at least 1"):
        Store(tmp_path / "s.duckdb", write_slice=0)
    assert not (tmp_path / "s.duckdb").exists()


def test_an_error_not_of_the_disk_in_a_later_slice_leaves_memory_as_the_file_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first slice filed its new devices' registry rows in the transaction the second rolled
    back: the registry is read back, so the devices are written when the cycle is."""
    t0 = every(5, 1)[0]
    docs = [doc(f"10.0.6.{n}", t0, serial=f"N{n}") for n in range(1, 8)]
    real = store_module._write_states
    calls = 0

    def second_slice_breaks(con: duckdb.DuckDBPyConnection, batch: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OverflowError("a value no column takes")
        real(con, batch)

    with Store(tmp_path / "s.duckdb", write_slice=3) as store, Store(tmp_path / "w.duckdb") as whole:
        monkeypatch.setattr(store_module, "_write_states", second_slice_breaks)
        with pytest.raises(OverflowError):
            store.ingest(docs)
        monkeypatch.setattr(store_module, "_write_states", real)
        with store.reading() as cur:
            assert cur.execute("SELECT count(*) FROM devices").fetchone() == (0,)
        assert store.registry.devices == {}  # read back: none of the first slice's devices kept
        store.add_manual("10.0.6.100", at=t0)  # a registry write of its own meanwhile
        retried = store.ingest([])  # the cycle, still pending, then this call's empty one
        whole.add_manual("10.0.6.100", at=t0)
        whole.ingest(docs)
        assert retried.error is None and retried.documents == 7
        assert tables(store) == tables(whole)

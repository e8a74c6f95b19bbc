"""The ingestor's last rows in columns (printwatch.store.columns.Columns): every row read back as
it was given, None included, the Arrow table the same as one made from the rows as objects,
a refused value changing nothing, and a series' row a few dozen bytes, not an object each."""

from __future__ import annotations

import random
import tracemalloc
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from printwatch.store.columns import Columns
from printwatch.store.ingest import METER_LATEST, SUPPLY_LATEST

SCHEMA = pa.schema(
    [("id", pa.int32()), ("seen", pa.timestamp("s")), ("at", pa.timestamp("us")), ("count", pa.int64()),
     ("small", pa.int32()), ("share", pa.float32()), ("sum", pa.float64()), ("state", pa.string())]
)  # fmt: skip
T0 = datetime(2026, 11, 30, 10, 0, 0)


def row(rng: random.Random, key: int) -> tuple[Any, ...]:
    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.2 else value

    return (
        key,
        maybe(T0 + timedelta(seconds=rng.randrange(10**8))),
        maybe(T0 + timedelta(microseconds=rng.randrange(10**14)) - timedelta(days=40 * 365)),
        maybe(rng.choice([0, 1, -1, 2**63 - 1, -(2**63) + 1, rng.randrange(-(2**62), 2**62)])),
        maybe(rng.choice([0, -(2**31), 2**31 - 1, rng.randrange(1000)])),
        maybe(rng.choice([0.0, 12.5, 99.75, -3.0])),
        maybe(rng.uniform(-1e12, 1e12)),
        maybe(rng.choice(["ok", "low", "", "é\u2603"])),
    )


@pytest.mark.parametrize("seed", range(5))
def test_rows_read_back_as_given_and_make_the_same_table(seed: int) -> None:
    rng = random.Random(seed)
    cols = Columns(SCHEMA)
    given: dict[int, tuple[Any, ...]] = {}
    for _ in range(400):  # new keys and rows put again
        key = rng.randrange(150)
        given[key] = row(rng, key)
        cols.put(key, given[key])
    assert len(cols) == len(given) and set(cols) == set(given)
    assert cols.rows() == given
    assert all(cols.get(k) == r for k, r in given.items()) and cols.get(999) is None
    assert cols.changed == set(given)
    keys = sorted(rng.sample(sorted(given), 40))
    expected = pa.Table.from_pylist([dict(zip(SCHEMA.names, given[k], strict=True)) for k in keys], SCHEMA)
    assert cols.table(keys).equals(expected)
    everything = pa.Table.from_pylist(
        [dict(zip(SCHEMA.names, given[k], strict=True)) for k in sorted(given)], SCHEMA
    )
    assert cols.table().equals(everything)  # the changed ones: all of them here


def test_numbers_far_apart_and_close_find_their_rows() -> None:
    """Small numbers take their slot from an array; a number far beyond the rows kept, from a
    map, and still once the array has grown past it."""
    cols = Columns(SCHEMA)
    rng = random.Random(1)
    given = {key: row(rng, key) for key in (5000, 10**12, -4, *range(600), 5050, 4999)}
    for key, values in given.items():
        cols.put(key, values)
    assert cols.rows() == given and len(cols) == len(given)
    assert all(cols.get(k) == r for k, r in given.items())
    cols.put(5000, given[4999])  # put again: the same slot, not a second one
    assert len(cols) == len(given) and cols.get(5000) == given[4999]


def test_nested_keys_are_a_device_and_a_name() -> None:
    cols = Columns(METER_LATEST, nested=True)
    t = T0
    for device in (7, 3):
        for name in ("total", "black", "@1.3.6.1.4.1.11.2 copies"):
            cols.put((device, name), (device, name, device * 10, t, 100, None, t))
    cols.put((3, "total"), (3, "total", 31, t, 105, 205, t))
    assert len(cols) == 6 and cols.get((3, "total")) == (3, "total", 31, t, 105, 205, t)
    assert cols.get((3, "color")) is None and cols.get((9, "total")) is None
    assert sorted(cols) == sorted(
        (d, n) for d in (7, 3) for n in ("total", "black", "@1.3.6.1.4.1.11.2 copies")
    )
    table = cols.table([(3, "total"), (7, "black")])
    assert table.column("source_id").to_pylist() == [31, 70]
    assert table.column("raw").to_pylist() == [205, None]


@pytest.mark.parametrize(
    ("value", "error"),
    [(2**63, OverflowError), (-(2**63), OverflowError), (True, TypeError), ("5", TypeError)],
)
def test_a_value_the_column_cannot_hold_changes_nothing(value: Any, error: type[Exception]) -> None:
    cols = Columns(METER_LATEST, nested=True)
    kept = (1, "total", 5, T0, 100, None, T0)
    cols.put((1, "total"), kept)
    cols.changed.clear()
    with pytest.raises(error):
        cols.put((1, "total"), (1, "total", 5, T0 + timedelta(hours=1), value, None, T0))
    with pytest.raises(error):
        cols.put((2, "total"), (2, "total", 6, T0, value, None, T0))
    assert cols.rows() == {(1, "total"): kept} and len(cols) == 1 and not cols.changed
    later = (3, "black", 7, T0, 9, None, T0)  # a row put after the refusal gets a slot of its own
    cols.put((3, "black"), later)
    assert cols.rows() == {(1, "total"): kept, (3, "black"): later}


def test_the_same_names_in_any_order_are_one_tuple() -> None:
    """Devices whose series came in different orders (a store read back orders them by when
    they last changed) share one tuple of names, and each name finds its own row."""
    cols = Columns(METER_LATEST, nested=True)
    names = ["total", "black", "color", "@1.3.6 copies", "duplex"]
    rng = random.Random(3)
    for device in range(200):
        order = rng.sample(names, len(names))
        for n, name in enumerate(order):
            cols.put(
                (device, name),
                (device, name, device * 100 + n, T0, device * 1000 + names.index(name), None, T0),
            )
    assert len({id(cols._slots[d][0]) for d in range(200)}) == 1
    assert len(cols._names) <= 2 ** len(names)  # sets of names (a device's part-way ones too), not orders
    assert all(cols.get((d, name))[4] == d * 1000 + names.index(name) for d in range(200) for name in names)  # type: ignore[index]
    assert cols.get((5, "mono")) is None and cols.get((5, "a")) is None and cols.get((5, "zzz")) is None


def test_a_series_costs_a_few_dozen_bytes() -> None:
    """20,000 meter series of 2,000 devices (a name each interned, a cycle's one time), and
    6,000 supplies: the columns' growth per series, against a tuple per series as before (at
    10,000 printers: meters 27 MB, supplies 14 MB in tuples)."""
    names = [f"meter{k}" for k in range(10)]
    t = T0

    def meters(cols: Any, put: Any) -> None:
        for device in range(2_000):
            for n, name in enumerate(names):
                put(cols, (device, name), (device, name, device * 10 + n, t, 10**6 + device, None, t))

    def supplies(cols: Any, put: Any) -> None:
        for s in range(6_000):
            f = s / 7  # the running sums of a supply's fit: floats of their own, as the ingestor's
            put(cols, s, (s, t, 40 + s % 50, 100, 40.5 + s % 50, "ok", t, 3, f, f + 1, f + 2, f + 3, f + 4))

    def measure(fill: Any, make: Any, put: Any) -> float:
        tracemalloc.start()
        try:
            cols = make()
            before = tracemalloc.get_traced_memory()[0]
            fill(cols, put)
            if isinstance(cols, Columns):
                cols.changed.clear()  # (cleared by the next batch: not what is held between cycles)
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    def as_columns(cols: Columns, key: Any, values: tuple[Any, ...]) -> None:
        cols.put(key, values)

    def as_tuples(rows: dict[Any, Any], key: Any, values: tuple[Any, ...]) -> None:
        rows[key] = tuple(values)

    per_meter = measure(meters, lambda: Columns(METER_LATEST, nested=True), as_columns) / 20_000
    per_supply = measure(supplies, lambda: Columns(SUPPLY_LATEST), as_columns) / 6_000
    tuple_meter = measure(meters, dict, as_tuples) / 20_000
    tuple_supply = measure(supplies, dict, as_tuples) / 6_000
    assert per_meter < 150 and per_supply < 130, (per_meter, per_supply)
    assert per_meter < tuple_meter / 2 and per_supply < tuple_supply / 2, (tuple_meter, tuple_supply)

"""The last kept row of every series of a kind, held in columns (the ingestor's state between
cycles; see :mod:`printwatch.store.ingest`).

A row is given and read as a tuple in its ``*_latest`` table's column order, but kept as one
slot of typed arrays: integers and times as 8-byte integers, floats as 8-byte floats, strings
as references (interned by the caller). A tuple per series held its integers, floats and times
as objects of their own: about 240-270 bytes a meter series and 340-370 a supply, against 130
and 116 here (``tests/store/test_columns.py``); at 10,000 printers 27 and 14 MB against 9.5 and
4.6 (docs/benchmarks.md).

What a slot keeps is what it was given: ``None`` stays ``None`` (integers and times have a
sentinel beside every value an Arrow ``int64`` holds; floats use NaN, which the ingestor never
keeps: its floats are finite or None), a time is a naive UTC ``datetime`` to the microsecond.
An integer or time column refuses what it cannot hold, before anything of the row is changed:
``OverflowError`` for an integer outside the signed 64 bits or equal to the sentinel,
``TypeError`` for another type (a bool, a string). Floats and strings are taken as given (the
ingestor's are finite floats or None, strings or None), and a narrower integer column (INTEGER)
is checked by Arrow when :meth:`Columns.table` makes it: the caller bounds what it puts
(the ingestor's ``_int32``).

Keys: a series' own key (a supply's number: numbers from 0 up to a few thousand beyond twice the
rows kept find their slot in an array, others in a map), or, with ``nested``, a pair (a
device's number and a meter's name): per device, the sorted tuple of its series' names (one
object for every device with the same names, whatever order they came in) and an array of
their slots in that order, rather than a tuple per series.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

#: The kinds of column: what each keeps and how.
INT, FLOAT, TIME, TEXT = "int", "float", "time", "text"
#: An integer or time column's None: the lowest int64, refused as a value (see :meth:`Columns.put`).
NULL = -(2**63)
EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


def kind_of(field: pa.Field) -> str:
    """The column kind that keeps an Arrow field's values."""
    t = field.type
    if pa.types.is_integer(t):
        return INT
    if pa.types.is_floating(t):
        return FLOAT
    if pa.types.is_timestamp(t):
        return TIME
    if pa.types.is_string(t):
        return TEXT
    raise TypeError(f"no column kind for {field.name} ({t})")


class Columns:
    """The rows of one ``*_latest`` table (``schema``), a slot each; ``changed`` holds the keys
    put by the batch in hand (the caller clears it)."""

    def __init__(self, schema: pa.Schema, *, nested: bool = False) -> None:
        self.schema = schema
        self.kinds = tuple(kind_of(f) for f in schema)
        self.nested = nested
        self._data: list[Any] = [[] if k == TEXT else array("d" if k == FLOAT else "q") for k in self.kinds]
        self._slots: dict[Any, Any] = {}  # key -> slot; nested: outer -> (inner names, slots)
        self._names: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # one tuple for equal names
        self._index = array("q")  # key -> slot (-1: none) for the small non-negative int keys
        self._count = 0
        self._times: dict[datetime, int] = {}
        self.changed: set[Any] = set()

    def __len__(self) -> int:
        return self._count

    def _slot(self, key: Any) -> int | None:
        if self.nested:
            kept = self._slots.get(key[0])
            if kept is None:
                return None
            names, slots = kept
            at = bisect.bisect_left(names, key[1])
            if at == len(names) or names[at] != key[1]:
                return None
            found: int = slots[at]
            return found
        if type(key) is int and 0 <= key < len(self._index):
            found = self._index[key]
            if found >= 0:
                return found
        slot: int | None = self._slots.get(key)  # (a key put before the array reached it)
        return slot

    def get(self, key: Any) -> tuple[Any, ...] | None:
        """The row kept for ``key``, or None."""
        slot = self._slot(key)
        return None if slot is None else self._row(slot)

    def _row(self, slot: int) -> tuple[Any, ...]:
        out = []
        for kind, col in zip(self.kinds, self._data, strict=True):
            v = col[slot]
            if kind == TEXT:
                out.append(v)
            elif kind == FLOAT:
                out.append(None if math.isnan(v) else v)
            elif v == NULL:
                out.append(None)
            else:
                out.append(v if kind == INT else EPOCH + v * _US)
        return tuple(out)

    def put(self, key: Any, row: Iterable[Any]) -> None:
        """Keeps ``row`` (a value per column) as ``key``'s, and notes ``key`` as changed."""
        values = [self._encode(kind, v) for kind, v in zip(self.kinds, row, strict=True)]
        slot = self._slot(key)
        if slot is None:
            slot = self._count
            for col, v in zip(self._data, values, strict=True):
                col.append(v)
            self._count += 1
            if self.nested:
                names, slots = self._slots.get(key[0], ((), None))
                at = bisect.bisect_left(names, key[1])
                names = (*names[:at], key[1], *names[at:])
                if len(self._names) < 100_000:
                    names = self._names.setdefault(names, names)
                if slots is None:
                    slots = array("q")
                slots.insert(at, slot)
                self._slots[key[0]] = (names, slots)
            elif type(key) is int and 0 <= key < 2 * self._count + 4096:
                if key >= len(self._index):
                    self._index.extend([-1] * (key + 1 - len(self._index)))
                self._index[key] = slot
            else:
                self._slots[key] = slot
        else:
            for col, v in zip(self._data, values, strict=True):
                col[slot] = v
        self.changed.add(key)

    def _encode(self, kind: str, v: Any) -> Any:
        if kind == TEXT:
            return v
        if kind == FLOAT:
            return math.nan if v is None else float(v)
        if v is None:
            return NULL
        if kind == TIME:
            us = self._times.get(v)
            if us is None:
                us = (v - EPOCH) // _US
                if len(self._times) > 10_000:  # a cycle's few times; bounded across a long history
                    self._times.clear()
                self._times[v] = us
            v = us
        if type(v) is not int:
            raise TypeError(f"{v!r} is not an integer")
        if not NULL < v < 2**63:
            raise OverflowError(f"{v} is not a 64-bit integer")
        return v

    def __iter__(self) -> Iterator[Any]:
        """The keys kept."""
        return (key for key, _ in self._items())

    def rows(self) -> dict[Any, tuple[Any, ...]]:
        """Every kept row by its key (a copy: for tests and checks, not the cycle's path)."""
        return {key: self._row(slot) for key, slot in self._items()}

    def _items(self) -> Iterator[tuple[Any, int]]:
        if self.nested:
            return (
                ((o, i), s)
                for o, (names, slots) in self._slots.items()
                for i, s in zip(names, slots, strict=True)
            )
        indexed = ((key, s) for key, s in enumerate(self._index) if s >= 0)
        return itertools.chain(indexed, self._slots.items())

    def table(self, keys: Iterable[Any] | None = None) -> pa.Table:
        """The rows of ``keys`` (default: the changed ones), in key order, as an Arrow table of
        the schema (integers and times taken from the arrays, not made into objects first)."""
        slots = [
            s
            for s in (self._slot(k) for k in sorted(self.changed if keys is None else keys))
            if s is not None
        ]
        arrays = []
        for field, kind, col in zip(self.schema, self.kinds, self._data, strict=True):
            values = [col[s] for s in slots]
            if kind == TEXT:
                arrays.append(pa.array(values, field.type))
            elif kind == FLOAT:
                arrays.append(pa.array([None if math.isnan(v) else v for v in values], field.type))
            else:  # (times are kept to the microsecond: in the column's unit)
                per = _PER_US.get(field.type.unit, 1) if kind == TIME else 1
                ints = pa.array([None if v == NULL else v // per for v in values], pa.int64())
                arrays.append(ints.cast(field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)


#: Microseconds in a unit of an Arrow timestamp coarser than a microsecond.
_PER_US = {"s": 1_000_000, "ms": 1_000}

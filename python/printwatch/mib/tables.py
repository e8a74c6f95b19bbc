"""Walked table rows regrouped by column and index, and typed reads of single values.

A walk of ``<table>`` gives varbinds ``<table>.1.<column>.<index...>``; :func:`columns` turns
them into ``{column: {index: VarBind}}`` with the index as its dotted text (``"1.2"``).

Error handling: rows outside the table, or with no column or index, are skipped (and counted in
the warnings by the caller); nothing here raises on agent data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from printwatch._core import VarBind

EXCEPTIONS = frozenset({"NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null"})
INTEGER_TYPES = frozenset({"Integer", "Counter32", "Gauge32", "Counter64", "TimeTicks"})

Columns = dict[int, dict[str, VarBind]]


def columns(root: str, rows: Iterable[VarBind]) -> Columns:
    """``{column: {index: varbind}}`` of a walked table (``root`` is the table's OID)."""
    prefix = root + ".1."
    out: Columns = {}
    for vb in rows:
        if not vb.oid.startswith(prefix) or vb.type in EXCEPTIONS:
            continue
        column, _, index = vb.oid[len(prefix) :].partition(".")
        if not column.isdigit() or not index:
            continue
        out.setdefault(int(column), {})[index] = vb
    return out


def indexes(cols: Columns) -> list[str]:
    """Every row index present in any column, in numeric order."""
    seen = {index for cells in cols.values() for index in cells}
    return sorted(seen, key=lambda i: tuple(int(p) if p.isdigit() else 0 for p in i.split(".")))


def as_int(vb: VarBind | None) -> int | None:
    """An integer-typed value, or an octet string holding only a decimal number; else None."""
    if vb is None or vb.type in EXCEPTIONS:
        return None
    value = vb.value
    if vb.type in INTEGER_TYPES and isinstance(value, int):
        return value
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00").strip()
        if text[:1] == b"-":
            digits = text[1:]
            return -int(digits) if digits.isdigit() and len(digits) < 20 else None
        return int(text) if text.isdigit() and len(text) < 20 else None
    return None


def cell(cols: Columns, column: int, index: str) -> VarBind | None:
    return cols.get(column, {}).get(index)


def present(gets: Mapping[str, VarBind], oid: str) -> VarBind | None:
    """A GET's varbind when the agent had a value for it."""
    vb = gets.get(oid)
    return None if vb is None or vb.type in EXCEPTIONS else vb

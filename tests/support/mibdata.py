"""Hand-made varbinds for the printer-semantics tests."""

from __future__ import annotations

from printwatch._core import VarBind

SUPPLIES = "1.3.6.1.2.1.43.11.1.1"
COLORANTS = "1.3.6.1.2.1.43.12.1.1"
INPUTS = "1.3.6.1.2.1.43.8.2.1"
ALERTS = "1.3.6.1.2.1.43.18.1.1"
MARKERS = "1.3.6.1.2.1.43.10.2.1"


def i(oid: str, value: int, kind: str = "Integer") -> VarBind:
    return VarBind(oid, kind, value)  # type: ignore[arg-type]


def s(oid: str, value: bytes | str) -> VarBind:
    return VarBind(oid, "OctetString", value.encode() if isinstance(value, str) else value)


def supply(
    index: int,
    description: bytes | str,
    *,
    level: int,
    capacity: int,
    kind: int = 3,
    klass: int = 3,
    unit: int = 13,
    colorant: int = 0,
    device: int = 1,
) -> list[VarBind]:
    """One prtMarkerSuppliesTable row (columns 2-9) of hrDevice ``device``."""
    ix = f"{device}.{index}"
    return [
        i(f"{SUPPLIES}.2.{ix}", 1),
        i(f"{SUPPLIES}.3.{ix}", colorant),
        i(f"{SUPPLIES}.4.{ix}", klass),
        i(f"{SUPPLIES}.5.{ix}", kind),
        s(f"{SUPPLIES}.6.{ix}", description),
        i(f"{SUPPLIES}.7.{ix}", unit),
        i(f"{SUPPLIES}.8.{ix}", capacity),
        i(f"{SUPPLIES}.9.{ix}", level),
    ]


def table(rows: list[list[VarBind]]) -> list[VarBind]:
    """Rows of cells → the walk order (column by column)."""
    cells = [vb for row in rows for vb in row]
    return sorted(cells, key=lambda vb: tuple(int(p) for p in vb.oid.split(".")))

"""Input trays (RFC 3805 prtInputTable): name, media, level, capacity, percent, state.

prtInputCurrentLevel uses the same special values as supplies (-1 other, -2 unknown, -3 "at
least one unit remains"), so a tray's level reads exactly as a supply's does
(:func:`printwatch.mib.levels.read_level`, threshold ``input``).

Error handling: missing cells are null; wrongly typed cells are null with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.levels import low_threshold, read_level
from printwatch.mib.tables import as_int, cell, columns, indexes
from printwatch.mib.text import decode_name


def trays(
    rows: Sequence[VarBind], warnings: list[str], thresholds: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Every row of prtInputTable as a tray of the poll document, in index order."""
    cols = columns(oids.PRT_INPUT_TABLE, rows)
    c = oids.INPUT_COLUMNS
    out = []
    for index in indexes(cols):
        values: dict[str, int | None] = {}
        for what in ("max_capacity", "level"):
            vb = cell(cols, c[what], index)
            values[what] = as_int(vb)
            if vb is not None and values[what] is None:
                warnings.append(f"{vb.oid}: tray {what} has the wrong type {vb.type}")
        name_vb = cell(cols, c["name"], index) or cell(cols, c["description"], index)
        media_vb = cell(cols, c["media_name"], index)
        meaning = read_level(
            values["level"],
            values["max_capacity"],
            unit_percent=False,
            low_percent=low_threshold("input", thresholds),
        )
        tail = index.rsplit(".", 1)[-1]
        out.append(
            {
                "index": int(tail) if tail.isdigit() else 0,
                "name": decode_name(name_vb.value) if name_vb is not None else None,
                "media": decode_name(media_vb.value) if media_vb is not None else None,
                "level": values["level"],
                "max_capacity": values["max_capacity"],
                "percent": meaning.percent,
                "state": meaning.state,
            }
        )
    return out

"""Active alerts (RFC 3805 prtAlertTable): severity, training level, group, location, code,
description.

Error handling: unknown enumeration values are kept as ``other(N)``-style names
(``code`` 40000 becomes ``"40000"``) so that nothing a printer says is lost; missing cells null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.tables import Columns, as_int, cell, columns, indexes
from printwatch.mib.text import decode_text


def _named(cols: Columns, column: int, index: str, names: Mapping[int, str]) -> str | None:
    value = as_int(cell(cols, column, index))
    if value is None:
        return None
    return names.get(value, str(value))


def alerts(rows: Sequence[VarBind]) -> list[dict[str, Any]]:
    """Every row of prtAlertTable, in index order."""
    cols = columns(oids.PRT_ALERT_TABLE, rows)
    c = oids.ALERT_COLUMNS
    out = []
    for index in indexes(cols):
        desc = cell(cols, c["description"], index)
        tail = index.rsplit(".", 1)[-1]
        out.append(
            {
                "index": int(tail) if tail.isdigit() else 0,
                "severity": _named(cols, c["severity"], index, oids.ALERT_SEVERITIES),
                "training": _named(cols, c["training"], index, oids.ALERT_TRAINING),
                "group": _named(cols, c["group"], index, oids.ALERT_GROUPS),
                "location": as_int(cell(cols, c["location"], index)),
                "code": _named(cols, c["code"], index, oids.ALERT_CODES),
                "description": decode_text(desc.value) if desc is not None else None,
            }
        )
    return out

"""The collector's CSV answers (the console's tables, the billing export, the supplies queue):
RFC 4180 with a header line, ``\\r\\n`` line ends, UTF-8; dates and times in ISO 8601; and every
text cell a spreadsheet would run as a formula made inert with a leading ``'``. Those cells hold
what appliances send (serials, models, names, meter names), so a hostile appliance could
otherwise put ``=HYPERLINK(...)`` into an MSP clerk's spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: What a spreadsheet takes for the start of a formula (OWASP's list: tab and CR included).
FORMULA = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset(FORMULA)
#: Cells written as they are (checked by their exact type first: an export has 10,000 rows).
_PLAIN = frozenset({int, float, bool, type(None)})


def defuse(value: Any) -> Any:
    """``value``, with a date in ISO 8601 and formula-like text behind a leading quote."""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in _FIRST else value
    if kind in _PLAIN:
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


#: What makes csv's writer quote a cell (QUOTE_MINIMAL: the delimiter, the quote, a line end).
_QUOTED = frozenset(',"\r\n')


def defuse_text(value: str | None) -> str | None:
    """:func:`defuse` for a cell of a text column (text or empty): the export's fast path."""
    return "'" + value if value is not None and value[:1] in _FIRST else value


def text_cell(value: str | None) -> str:
    """A text column's cell (text or empty) as :func:`csv_cells` writes it: defused, then quoted
    as csv's writer quotes (only when it holds a comma, a quote or a line end). An export of
    10,000 rows builds its lines from these instead of a writer's pass over every cell (half the
    time here)."""
    if value is None:
        return ""
    if value[:1] in _FIRST:
        value = "'" + value
    return value if _QUOTED.isdisjoint(value) else '"' + value.replace('"', '""') + '"'


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as CSV: the header ``columns``, then those columns of each row, defused."""
    return csv_cells(columns, [[row.get(c) for c in columns] for row in rows])


def csv_cells(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """Rows of cells as CSV, each cell defused, after ``header`` (none: a streamed export's later
    pages)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows([[defuse(v) for v in row] for row in rows])
    return out.getvalue()

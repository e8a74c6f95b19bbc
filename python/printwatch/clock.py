"""The wall clock's UTC time: the one place that reads it (everything else takes a clock).

Two forms are kept: timezone-aware (the scheduler, the uplink) and naive UTC (the DuckDB
stores keep naive UTC), plus the poll documents' text form.

>>> iso_seconds(dt.datetime(2026, 11, 30, 10, 0, 0, 500_000, tzinfo=dt.UTC))
'2026-11-30T10:00:00Z'
"""

from __future__ import annotations

import datetime as dt

__all__ = ["iso_seconds", "naive_utcnow", "utcnow"]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


def naive_utcnow() -> dt.datetime:
    """The current UTC time without a timezone, as the stores keep it."""
    return utcnow().replace(tzinfo=None)


def iso_seconds(when: dt.datetime) -> str:
    """ISO 8601 UTC to the second with a ``Z`` (a poll document's ``time``); a naive ``when``
    is taken as UTC."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

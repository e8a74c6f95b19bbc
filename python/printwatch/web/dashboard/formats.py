"""Text formats of the dashboard's pages (the templates' filters): times, ages, query strings."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode


def qs(**params: object) -> str:
    """A query string of the params that have a value."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def aware(t: dt.datetime) -> dt.datetime:
    """``t`` with its time zone (DuckDB gives UTC times without one)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def ago(t: dt.datetime | None, now: dt.datetime) -> str:
    """How long before ``now`` ``t`` was, in words ("never" for None)."""
    if t is None:
        return "never"
    s = (now - aware(t)).total_seconds()
    if s < 0:
        return "just now"
    if s < 90:
        return f"{s:.0f} s ago"
    if s < 5400:
        return f"{s / 60:.0f} min ago"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} days ago"


def utc(t: dt.datetime | None) -> str:
    """``t`` as ``YYYY-MM-DD HH:MM UTC`` ('' for None)."""
    if t is None:
        return ""
    return aware(t).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: float | None, fmt: str) -> str:
    """``value`` in ``fmt`` ('' for None)."""
    return "" if value is None else fmt.format(value)


def stamp(t: dt.datetime) -> str:
    """``t`` as ``YYYY-MM-DD HH:MM:SS`` (the uplink log's times, UTC)."""
    return f"{t:%Y-%m-%d %H:%M:%S}"

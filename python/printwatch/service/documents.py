"""Engine results -> poll documents (the shared contract), through the printer semantics
(:func:`printwatch.mib.interpret`), stamped with the cycle's wall time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from printwatch.engine import TargetResult
from printwatch.mib import interpret
from printwatch.mib import unreachable as mib_unreachable


def poll_time(when: dt.datetime) -> str:
    """ISO 8601 UTC with a ``Z``, to the second: ``2026-11-30T10:00:00Z``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(
    spec: str,
    results: list[TargetResult],
    when: dt.datetime,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The poll document of one device polled as ``spec`` (``host:port``) at ``when``, from
    its base poll and, when there was one, its vendor poll."""
    first, *more = results
    return interpret(first, *more, target=spec, time=poll_time(when), thresholds=thresholds)


def unreachable(spec: str, error: str, when: dt.datetime) -> dict[str, Any]:
    """The document of a target that was not polled or did not answer."""
    return mib_unreachable(spec, error, time=poll_time(when))

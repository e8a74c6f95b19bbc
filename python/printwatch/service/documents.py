"""One engine result -> one poll document (the shared contract: see the README's "Appliance").

This is the single place where the appliance turns a :class:`~printwatch.engine.TargetResult`
into the document that the store ingests, the metrics read and ``printwatch assist`` prints.
It delegates to the printer semantics (``printwatch.mib``) when that is installed, and until
then to the raw shape of ``printwatch poll --json`` (system group, status scalars, raw
tables), stamped with the poll's time either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from printwatch.cli.poll import result_json
from printwatch.engine import TargetResult


def poll_time(when: dt.datetime) -> str:
    """ISO 8601 UTC with a ``Z``, to the second: ``2026-11-30T10:00:00Z``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(spec: str, result: TargetResult, when: dt.datetime) -> dict[str, Any]:
    """The poll document of ``result``, polled as ``spec`` (``host:port``) at ``when``."""
    doc = result_json(spec, result)
    doc["time"] = poll_time(when)
    return doc


def unreachable(spec: str, error: str, when: dt.datetime) -> dict[str, Any]:
    """The document of a target that was not polled or did not answer."""
    return {"target": spec, "reachable": False, "error": error, "time": poll_time(when)}

"""The settings a collector's sync answer sets on the appliance, checked before anything applies.

A sync answer comes from the network: a hostile or buggy collector must not make the appliance
misbehave. :func:`read_settings` takes only the keys it knows, each checked for its type and
range (upload times ``HH:MM[:SS]``, 1 to 4 of them, distinct; services true or false; a budget
from 4 KiB to 64 MiB; thresholds finite and in range; a billing cycle it knows on day 1 to 28),
and never walks more than :data:`MAX_KEYS` keys of any object it is given. A value it refuses is
named with the reason in the report, and the appliance's own value stays.

The customer's ``[uplink] locked`` list (:data:`LOCKABLE`) keeps the appliance's own value of a
key whatever the collector sends; ``services`` and ``thresholds`` lock all their keys.
:func:`report` is what the appliance tells the collector in its next sync message: the settings
version it applied, the values it took, the keys its own configuration kept, the ones refused.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from printwatch.config.remote_keys import LOCKABLE, SERVICES, THRESHOLDS

CYCLES = ("monthly", "quarterly", "semiannual")
MIN_BUDGET, MAX_BUDGET = 4096, 64 * 1024 * 1024
#: The most keys of one object looked at, and names reported as unknown.
MAX_KEYS = 32
MAX_REPORTED = 8
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass
class Remote:
    """The checked settings of one sync answer: ``values`` by :data:`LOCKABLE` key (upload times
    as ``(times, timezone)``, billing as ``(cycle, day)``), ``refused`` ``{key: reason}``."""

    sv: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text[:40]


def _times(value: object) -> tuple[dt.time, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise ValueError("not a list of 1 to 4 times of day")
    times = []
    for text in value:
        match = _TIME.match(text) if isinstance(text, str) and len(text) <= 8 else None
        if match is None:
            raise ValueError(f"{_short(text)} is not a time of day (HH:MM or HH:MM:SS)")
        times.append(dt.time(int(match[1]), int(match[2]), int(match[3] or 0)))
    if len(set(times)) != len(times):
        raise ValueError("the same time twice")
    return tuple(sorted(times))


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{_short(value)} is not true or false")
    return value


def _integer(value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{_short(value)} is not an integer from {low} to {high}")
    return value


def _number(value: object, low: float, high: float) -> float:
    # Compared before float(): an integer of 400 digits (JSON allows it) overflows a float.
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    if not ok or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise ValueError(f"{_short(value)} is not a number from {low:g} to {high:g}")
    return float(value)  # type: ignore[arg-type]


def _take(remote: Remote, key: str, value: object, check: Any, *args: Any) -> None:
    try:
        remote.values[key] = check(value, *args)
    except ValueError as err:
        remote.refused[key] = str(err)


def _object(remote: Remote, key: str, value: object) -> dict[str, Any]:
    """``value`` when it is an object of at most :data:`MAX_KEYS` keys, else refused (``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_KEYS:
        remote.refused[key] = f"not an object of at most {MAX_KEYS} keys"
        return {}
    return value


def _settings(remote: Remote, settings: dict[str, Any]) -> None:
    if "upload_times" in settings:
        zone = settings.get("upload_timezone", "UTC")
        if zone != "UTC":
            remote.refused["upload_times"] = f"time zone {_short(zone)}: only UTC"
        else:
            _take(remote, "upload_times", settings["upload_times"], lambda v: (_times(v), "UTC"))
    if "budget_bytes_per_day" in settings:
        _take(
            remote, "budget_bytes_per_day", settings["budget_bytes_per_day"], _integer, MIN_BUDGET, MAX_BUDGET
        )
    thresholds = _object(remote, "thresholds", settings.get("thresholds"))
    for name, (low, high) in THRESHOLDS.items():
        if name in thresholds:
            _take(remote, f"thresholds.{name}", thresholds[name], _number, low, high)


def _billing(value: object) -> tuple[str, int]:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    cycle, day = value.get("cycle"), value.get("day")
    if cycle not in CYCLES:
        raise ValueError(f"cycle {_short(cycle)} is not one of {', '.join(CYCLES)}")
    return str(cycle), _integer(day, 1, 28)


def read_settings(sync: dict[str, Any]) -> Remote:
    """The settings of a sync answer, checked (see the module's docstring)."""
    remote = Remote()
    sv = sync.get("sv")
    if isinstance(sv, int) and not isinstance(sv, bool) and 0 <= sv < 1 << 31:
        remote.sv = sv
    elif sv is not None:
        remote.refused["sv"] = f"{_short(sv)} is not a version number"
    services = _object(remote, "services", sync.get("services"))
    for name in SERVICES:
        given = services.get(name, services.get("snapshots") if name == "assist" else None)
        if given is not None:
            _take(remote, f"services.{name}", given, _bool)
    if "billing" in sync and sync["billing"] is not None:
        _take(remote, "billing", sync["billing"], _billing)
    settings = _object(remote, "settings", sync.get("settings"))
    _settings(remote, settings)
    known = {"upload_times", "upload_timezone", "upload_times_assigned", "budget_bytes_per_day", "thresholds"}
    unknown = [str(k)[:40] for k in list(settings)[:MAX_KEYS] if k not in known]
    if unknown:
        remote.refused["settings"] = "unknown: " + ", ".join(unknown[:MAX_REPORTED])
    return remote


def locks(key: str, locked: tuple[str, ...] | list[str]) -> bool:
    """Whether the customer's ``locked`` list keeps ``key`` (itself or its group)."""
    return key in locked or key.split(".", 1)[0] in locked


def check_locked(names: list[str]) -> list[str]:
    """The problems of a ``locked`` list (names not in :data:`LOCKABLE`)."""
    return [
        f"{str(n)[:40]!r} is not a setting (one of {', '.join(LOCKABLE)})" for n in names if n not in LOCKABLE
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # upload times
        return [t.isoformat() for t in value[0]]
    if isinstance(value, tuple):
        return list(value)
    return value


def report(remote: Remote, locked: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The report of a sync message: ``{"sv", "applied", "locked", "refused"}``."""
    applied = {k: _plain(v) for k, v in sorted(remote.values.items()) if not locks(k, locked)}
    kept = sorted(k for k in remote.values if locks(k, locked))
    return {
        "sv": remote.sv or 0,
        "applied": applied,
        "locked": kept,
        "refused": dict(sorted(remote.refused.items())),
    }

"""Honest levels: Printer-MIB special values, percentages, clamping and states.

RFC 3805 gives levels and capacities special negative values: -1 "other" (no restriction),
-2 "unknown", -3 "some remaining" (level only). A percentage is computed only from a level of
0 or more against a positive capacity, or from a level whose unit is percent; anything else
leaves it null. A level above its capacity is clamped to the capacity and flagged.

Error handling: pure functions of integers; no input raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SOME_REMAINING = -3
UNKNOWN = -2
OTHER = -1

#: Default low thresholds in percent, by supply type (``default`` for every other type; trays
#: use ``input``). Configurable: ``interpret(..., thresholds={"toner": 15})``.
DEFAULT_THRESHOLDS: dict[str, float] = {"default": 10.0, "input": 10.0}


@dataclass
class Level:
    """What a level means: a percentage or none, a state, whether it is coarse, and flags."""

    percent: float | None
    state: str
    coarse: bool = False
    flags: list[str] = field(default_factory=list)


def check_thresholds(thresholds: Mapping[str, float] | None) -> None:
    """Error handling: ``ValueError`` naming the key for a threshold that is not a number from
    0 to 100 (``thresholds['toner']: ...``)."""
    for key, value in (thresholds or {}).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"thresholds: the key {key!r} must be a supply type name")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ValueError(f"thresholds[{key!r}]: {value!r} must be a number from 0 to 100 (percent)")


def low_threshold(kind: str | None, thresholds: Mapping[str, float] | None) -> float:
    merged = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    return merged.get(kind or "default", merged["default"])


def read_level(level: int | None, capacity: int | None, *, unit_percent: bool, low_percent: float) -> Level:
    """The percentage and state of one supply or tray (see the module docstring).

    ``coarse`` is set where the printer can only say roughly how much is left: "some
    remaining" (-3), or a capacity of 1 to 3 steps (a level of 0..3 out of 3 is not a
    percentage anyone should order by).
    """
    if level is None or level < 0:
        return _special_level(level)
    flags: list[str] = []
    percent, coarse = _percent(level, capacity, unit_percent, flags)
    if capacity is not None and capacity < -2:
        flags.append("invalid_capacity")
    if percent is None:
        return Level(None, "unknown", flags=flags)
    return Level(percent, _state(percent, low_percent), coarse=coarse, flags=flags)


def _special_level(level: int | None) -> Level:
    """A level that is missing or negative: one of RFC 3805's special values, or invalid."""
    if level is None:
        return Level(None, "unknown", flags=["missing_level"])
    if level == SOME_REMAINING:
        return Level(None, "some_remaining", coarse=True)
    if level in (UNKNOWN, OTHER):
        return Level(None, "unknown")
    return Level(None, "unknown", flags=["invalid_level"])


def _percent(
    level: int, capacity: int | None, unit_percent: bool, flags: list[str]
) -> tuple[float | None, bool]:
    """The percentage (or none) and coarseness of a level of 0 or more, clamped to its capacity
    (or to 100 for a percent unit) with ``clamped`` added to ``flags``."""
    if capacity is not None and capacity > 0:
        if level > capacity:
            level = capacity
            flags.append("clamped")
        return round(100.0 * level / capacity, 1), capacity <= 3
    if unit_percent:
        if level > 100:
            level = 100
            flags.append("clamped")
        return float(level), False
    if level == 0:
        return 0.0, False
    return None, False


def _state(percent: float, low_percent: float) -> str:
    if percent <= 0:
        return "empty"
    if percent <= low_percent:
        return "low"
    return "ok"


def coarse_history(levels: Iterable[int | None], max_capacity: int | None) -> bool:
    """Whether a supply's levels over several readings show a printer that only says "full" or
    "empty": every level read is 0 or the capacity (100 for a percent unit), and both were seen.
    One reading cannot tell this from a new cartridge; the store, which has the history, can.
    Special values (-1, -2, -3) and missing readings are ignored."""
    top = max_capacity if max_capacity is not None and max_capacity > 0 else 100
    seen = {level for level in levels if level is not None and level >= 0}
    return seen == {0, top}

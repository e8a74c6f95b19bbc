"""When a job is due: its *slots*, the wall-time instants it should run at.

A schedule answers two questions: the latest slot at or before a time (for catching up after
downtime) and the first slot after a slot (for the next run). Three kinds:

* :class:`Every` — every ``interval_s``, slots aligned to the Unix epoch (so a 5-minute job's
  slots are :00, :05, ... whatever time the appliance started);
* :class:`DailyAt` — at 1 to 4 times of day in a time zone (the daily upload);
* :class:`FollowedDailyAt` — a :class:`DailyAt` whose times a sync may change while it runs
  (the upload times the collector sets): the scheduler wakes when they change and goes on from
  the new times' next slot;
* :class:`BillingCycle` — on ``day`` of every month, quarter (January, April, July, October) or
  half-year (January, July), at midnight in the time zone (:class:`FollowedBillingCycle`: the
  kind and day a sync sets).

Each slot's start is delayed by a jitter of ``0 <= j < jitter_s``, fixed per (job, slot, seed)
so that a slot runs once and at a reproducible time, and work from many appliances (and many
jobs of one) is spread over the interval instead of firing at the same second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

import trio

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class Schedule(Protocol):
    @property
    def jitter_s(self) -> float:
        """The span over which a slot's start is spread."""
        ...

    def latest_at_or_before(self, t: dt.datetime) -> dt.datetime | None:
        """The last slot at or before ``t``."""
        ...

    def next_after(self, slot: dt.datetime) -> dt.datetime:
        """The first slot strictly after ``slot``."""
        ...

    def nominal_interval_s(self) -> float:
        """About how far apart slots are: a run's budget by default."""
        ...


def jitter_for(name: str, slot: dt.datetime, jitter_s: float, seed: str = "") -> float:
    """A delay in ``[0, jitter_s)``, the same for the same job, slot and seed."""
    if jitter_s <= 0:
        return 0.0
    digest = hashlib.blake2b(f"{seed}|{name}|{slot.isoformat()}".encode(), digest_size=8).digest()
    return jitter_s * int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Every:
    interval_s: float
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {self.interval_s}")
        if not 0 <= self.jitter_s < self.interval_s:
            raise ValueError(f"jitter_s must be in [0, interval_s), got {self.jitter_s}")

    def latest_at_or_before(self, t: dt.datetime) -> dt.datetime:
        elapsed_us = (t - EPOCH) // dt.timedelta(microseconds=1)
        step_us = round(self.interval_s * 1e6)
        return EPOCH + dt.timedelta(microseconds=(elapsed_us // step_us) * step_us)

    def next_after(self, slot: dt.datetime) -> dt.datetime:
        return self.latest_at_or_before(slot) + dt.timedelta(microseconds=round(self.interval_s * 1e6))

    def nominal_interval_s(self) -> float:
        return self.interval_s


@dataclass(frozen=True)
class DailyAt:
    times: Sequence[dt.time]
    timezone: str = "UTC"
    jitter_s: float = 0.0
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.times) <= 4:
            raise ValueError(f"1 to 4 times of day, got {len(self.times)}")
        object.__setattr__(self, "times", tuple(sorted(self.times)))
        object.__setattr__(self, "_zone", zoneinfo.ZoneInfo(self.timezone))

    def _slots_of(self, day: dt.date) -> list[dt.datetime]:
        return [dt.datetime.combine(day, t, tzinfo=self._zone).astimezone(UTC) for t in self.times]

    def latest_at_or_before(self, t: dt.datetime) -> dt.datetime | None:
        day = t.astimezone(self._zone).date()
        for d in (day, day - dt.timedelta(days=1), day - dt.timedelta(days=2)):
            before = [s for s in self._slots_of(d) if s <= t]
            if before:
                return before[-1]
        return None

    def next_after(self, slot: dt.datetime) -> dt.datetime:
        day = slot.astimezone(self._zone).date() - dt.timedelta(days=1)
        for offset in range(4):
            later = [s for s in self._slots_of(day + dt.timedelta(days=offset)) if s > slot]
            if later:
                return later[0]
        raise AssertionError("a day always has a slot")  # pragma: no cover

    def nominal_interval_s(self) -> float:
        return 86400.0 / len(self.times)


def daily_jitter_s(times: Sequence[dt.time], fraction: float) -> float:
    """The jitter of a daily schedule: ``fraction`` of half an hour, at most half the shortest
    gap between two of its times."""
    minutes = sorted(t.hour * 60 + t.minute + t.second / 60 for t in times)
    gaps = [b - a for a, b in itertools.pairwise(minutes)] + [1440 - minutes[-1] + minutes[0]]
    return min(fraction * 1800.0, 30.0 * min(gaps))


CycleKind = Literal["monthly", "quarterly", "semiannual"]
_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "semiannual": 6}


@dataclass(frozen=True)
class BillingCycle:
    kind: CycleKind = "monthly"
    day: int = 1
    timezone: str = "UTC"
    jitter_s: float = 0.0
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _MONTHS:
            raise ValueError(f"billing cycle {self.kind!r}: monthly, quarterly or semiannual")
        if not 1 <= self.day <= 28:
            raise ValueError(f"billing day {self.day}: 1 to 28 (every month has it)")
        object.__setattr__(self, "_zone", zoneinfo.ZoneInfo(self.timezone))

    def _slot(self, month_index: int) -> dt.datetime:
        year, month0 = divmod(month_index, 12)
        return dt.datetime(year, month0 + 1, self.day, tzinfo=self._zone).astimezone(UTC)

    def latest_at_or_before(self, t: dt.datetime) -> dt.datetime:
        local = t.astimezone(self._zone)
        step = _MONTHS[self.kind]
        index = local.year * 12 + local.month - 1
        index -= index % step
        while self._slot(index) > t:
            index -= step
        return self._slot(index)

    def next_after(self, slot: dt.datetime) -> dt.datetime:
        step = _MONTHS[self.kind]
        local = slot.astimezone(self._zone)
        index = local.year * 12 + local.month - 1
        index -= index % step
        while self._slot(index) <= slot:
            index += step
        return self._slot(index)

    def nominal_interval_s(self) -> float:
        return _MONTHS[self.kind] * 30.44 * 86400.0


S = TypeVar("S", bound=Schedule)


class _Followed(Generic[S]):
    """The ``configured`` schedule until :meth:`_follow` puts another in ``current``; the
    scheduler asks ``current``, and :meth:`wait_changed` returns at a change."""

    def __init__(self, configured: S) -> None:
        self.configured = configured
        self.current = configured
        self._changed: trio.Event | None = None

    @property
    def jitter_s(self) -> float:
        return self.current.jitter_s

    def latest_at_or_before(self, t: dt.datetime) -> dt.datetime | None:
        return self.current.latest_at_or_before(t)

    def next_after(self, slot: dt.datetime) -> dt.datetime:
        return self.current.next_after(slot)

    def nominal_interval_s(self) -> float:
        return self.current.nominal_interval_s()

    def _follow(self, new: S) -> bool:
        """``new`` from now on, waking :meth:`wait_changed`; whether it differs from ``current``."""
        if new == self.current:
            return False
        self.current = new
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        return True

    async def wait_changed(self) -> None:
        """Returns when :meth:`follow` changes the schedule."""
        if self._changed is None:
            self._changed = trio.Event()
        await self._changed.wait()


class FollowedDailyAt(_Followed[DailyAt]):
    """A :class:`DailyAt` of the configured ``times`` in ``timezone`` that :meth:`follow` changes
    (and :meth:`follow_configured` puts back); :meth:`wait_changed` returns at a change."""

    def __init__(self, times: Sequence[dt.time], timezone: str = "UTC", jitter: float = 0.0) -> None:
        super().__init__(DailyAt(times, timezone, daily_jitter_s(times, jitter)))
        self.jitter = jitter

    @property
    def times(self) -> tuple[dt.time, ...]:
        return tuple(self.current.times)

    @property
    def timezone(self) -> str:
        return self.current.timezone

    def follow(self, times: Sequence[dt.time], timezone: str) -> bool:
        """Use ``times`` in ``timezone`` from now on; whether that changed anything (the jitter
        follows from the times, so equal schedules have equal times and zone).

        Error handling: ``ValueError`` for a number of times other than 1 to 4 or an unknown
        time zone (nothing changes)."""
        return self._follow(DailyAt(times, timezone, daily_jitter_s(times, self.jitter)))

    def follow_configured(self) -> bool:
        """Back to the configured times; whether that changed anything."""
        return self.follow(self.configured.times, self.configured.timezone)


class FollowedBillingCycle(_Followed[BillingCycle]):
    """A :class:`BillingCycle` (the configured one) that :meth:`follow` changes to the kind and
    day a sync sets (in the same time zone), :meth:`follow_configured` puts back;
    :meth:`wait_changed` returns at a change."""

    def follow(self, kind: str, day: int) -> bool:
        """Billing on ``day`` of each ``kind`` of cycle from now on; whether that changed anything.

        Error handling: ``ValueError`` for a kind or day :class:`BillingCycle` refuses."""
        c = self.configured
        return self._follow(BillingCycle(kind, day, c.timezone, c.jitter_s))  # type: ignore[arg-type]

    def follow_configured(self) -> bool:
        return self.follow(self.configured.kind, self.configured.day)


def slots_between(schedule: Schedule, start: dt.datetime, end: dt.datetime, limit: int = 1_000_000) -> int:
    """How many slots lie in ``(start, end]`` (bounded by ``limit``)."""
    count = 0
    slot = schedule.next_after(start)
    while slot <= end and count < limit:
        count += 1
        slot = schedule.next_after(slot)
    return count

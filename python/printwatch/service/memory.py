"""The appliance process's resident memory, and when the store gives back what DuckDB keeps.

DuckDB (2.0.1) keeps memory from the queries of every write for as long as the database is
open in the process, and gives it back only when the last connection to the file closes
(:meth:`printwatch.store.Store.renew`). At 10,000 printers that is 70-120 MB after a meter read
and the first cycles, a fifth of the process; closing and opening the database again takes
30-60 ms. :class:`RenewalPolicy` says when a write is followed by a renewal: when the process's
resident memory has grown by :data:`RENEW_GROWTH_BYTES` since the last one (or since the
appliance started), so a fleet whose memory is flat is never renewed between the daily upkeeps,
and a renewal that gave nothing back waits for as much growth again.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

#: Growth of the resident memory since the last renewal after which a write is followed by one.
RENEW_GROWTH_BYTES = 48 * 2**20


def resident_bytes() -> int | None:
    """The process's resident memory (Linux's /proc/self/statm), or None where there is none."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None


class RenewalPolicy:
    """Whether the store renews after a write (see the module's docstring). ``resident`` reads
    the process's resident memory (tests give their own); ``growth`` is the threshold in bytes
    (0 or less: never)."""

    def __init__(
        self, *, growth: int = RENEW_GROWTH_BYTES, resident: Callable[[], int | None] = resident_bytes
    ) -> None:
        self.growth = growth
        self.resident = resident
        self.baseline = resident()

    def due(self) -> bool:
        """Whether a renewal is due now."""
        if self.growth <= 0:
            return False
        now = self.resident()
        if now is None:
            return False
        if self.baseline is None:
            self.baseline = now
        return now - self.baseline >= self.growth

    def renewed(self) -> None:
        """A renewal was made (or tried): the resident memory now is the new baseline."""
        self.baseline = self.resident()

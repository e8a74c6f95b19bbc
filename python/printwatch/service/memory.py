"""The appliance process's resident memory: how the C allocator is set, and when the store
gives back what DuckDB keeps.

:func:`configure_allocator` sets glibc's malloc for a long-running process of a few threads
with large transient buffers (a cycle's lists of documents and rows, a `/metrics` body of
10,000 printers; pyarrow's own buffers come from its mimalloc pool): at most
:data:`MALLOC_ARENAS` arenas (glibc's default is 8 a core, each thread's freed memory kept in
its own), and allocations of :data:`MMAP_THRESHOLD` or more mapped apart and given back when
freed (glibc's default raises that threshold to the largest block freed so far, up to 32 MB,
after which such buffers come from the arenas and stay). At 10,000 printers the daemon's
resident memory between cycles was 40-60 MB lower with it (benchmarks.md). An operator's own
malloc settings (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``glibc.malloc.*`` in ``GLIBC_TUNABLES``) are left as they are.

:func:`configure_arrow_pool` makes pyarrow take its buffers from that malloc too (its
``system`` pool) rather than from its bundled mimalloc, which keeps the segments of freed
buffers: the Arrow tables of every write (the store's rows) then stay resident at their
largest. At 10,000 printers the process's memory after a status cycle was about 20 MB lower
with it, its CPU the same (benchmarks.md). ``ARROW_DEFAULT_MEMORY_POOL`` set by the operator
wins.

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

import ctypes
import os
from collections.abc import Callable, Mapping

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

#: Growth of the resident memory since the last renewal after which a write is followed by one.
RENEW_GROWTH_BYTES = 48 * 2**20

#: glibc's malloc as :func:`configure_allocator` sets it.
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 128 * 1024
#: glibc's environment variables for what :func:`configure_allocator` sets: an operator's own win.
OPERATORS_OWN = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


def configure_allocator(environ: Mapping[str, str] = os.environ) -> bool:
    """Sets glibc's malloc as the module's docstring says; returns whether it did. The arenas'
    bound holds for arenas made after it (threads started later). Not glibc, or the operator
    set malloc's own settings in ``environ``: nothing is changed."""
    if any(k in environ for k in OPERATORS_OWN) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_ARENA_MAX, MALLOC_ARENAS),
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    )
    done = [mallopt(param, value) == 1 for param, value in settings]  # each tried
    return all(done)


def configure_arrow_pool(environ: Mapping[str, str] = os.environ) -> bool:
    """pyarrow's default memory pool set to the C library's malloc (see the module's
    docstring); returns whether it was (not when ``environ`` names a pool of its own)."""
    if "ARROW_DEFAULT_MEMORY_POOL" in environ:
        return False
    import pyarrow as pa  # (loaded by the store already; not by everything that reads memory)

    pa.set_memory_pool(pa.system_memory_pool())
    return True


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

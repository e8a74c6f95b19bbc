"""Keeping the Trio loop responsive while a cycle's Python work runs on it.

Two measures, both measured with a loop-lag probe at 2,000 printers on these machines:

* Long work (interpreting a cycle's results, serializing documents, rendering /metrics) runs in
  steps, and between steps :func:`give_way` lets the HTTP server's tasks run.
* The garbage collector waits for the end of a cycle (:func:`gc_paused`): a collection
  in the middle of a cycle walks every document in flight (one full collection took 23 ms with
  a 2,000-printer cycle's documents alive, and the loop stalled 50-200 ms in such collections
  on these loaded machines); after the write the documents are gone (reference counting: they
  hold no reference cycles, and a cycle's error is kept from closing one around them).
  Start-up's objects, and each cycle's survivors, are frozen out of the garbage collector's
  walks (``gc.freeze``) without a collection; every :data:`FULL_EVERY` cycles one collection
  walks everything.

Error handling: none needed; cancellation passes through the checkpoints.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import trio

#: How many extra loop turns a step gives way for, at most, while other tasks are ready.
MAX_TURNS = 16


async def give_way(max_turns: int = MAX_TURNS) -> None:
    """A checkpoint that lets every other ready task (a request in progress) run, and keeps
    giving way while some are still ready, up to ``max_turns`` loop turns: a request needs
    several turns (read, handle, send), and one turn per step of a long job would make it wait
    for as many steps."""
    await trio.lowlevel.checkpoint()
    for _ in range(max_turns):
        if trio.lowlevel.current_statistics().tasks_runnable == 0:
            return
        await trio.lowlevel.checkpoint()


_managed = False
_cycles_running = 0
_cycles_ended = 0

#: Every this many cycles the collection at a cycle's end walks every object (the frozen ones
#: thawed first); at the others, only those made since the previous cycle's end.
FULL_EVERY = 30


def manage_gc() -> None:
    """Freezes start-up's objects out of the garbage collector's walks, and lets :func:`gc_paused`
    pause garbage collection during cycles (the daemon calls this; tests that do not leave it alone)."""
    global _managed
    gc.freeze()
    _managed = True


def release_gc() -> None:
    """Python's own garbage collection again (at shutdown)."""
    global _managed
    _managed = False
    gc.enable()
    gc.unfreeze()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Around a cycle's poll and write: no collection while its documents are alive; when the
    last running cycle ends (its documents gone), what was made since the previous cycle's end
    is frozen out of later walks (``gc.freeze``), and every :data:`FULL_EVERY` cycles one
    collection walks everything (thawed first), which finds cyclic garbage among them.

    Walking everything the appliance holds at 10,000 printers (the store's latest rows, the
    registry, the uplink's day, the fleet view) took 0.25-0.6 s, one stretch without a Trio
    checkpoint at each cycle's end: what ``/health`` waited for during cycles. A collection of
    only what a cycle made took 6-19 ms after a steady status cycle and 180-240 ms after a
    meter read or a process's first cycle, and found nothing to free in any of those cycles
    (10,000 printers, none failing; benchmarks.md): it is left to the full one. What a cycle
    that raised made is not frozen (see the code)."""
    global _cycles_running, _cycles_ended
    if not _managed:
        yield
        return
    _cycles_running += 1
    gc.disable()
    failed = True
    try:
        yield
        failed = False
    finally:
        _cycles_running -= 1
        if _cycles_running == 0 and _managed:
            gc.enable()
            _cycles_ended += 1
            if _cycles_ended % FULL_EVERY == 0:
                gc.unfreeze()
                gc.collect()
            if not failed:
                gc.freeze()
            # A cycle that raised: its error (in flight here) may hold the cycle's documents in
            # a reference cycle; left unfrozen, they go at the garbage collector's next young
            # collection once the error is handled, not at the next full one.

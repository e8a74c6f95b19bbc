"""Runs an appliance until SIGTERM/SIGINT (or a duration): the schedule, the HTTP server, and a
clean stop.

On SIGTERM the scheduler's tasks are cancelled: a poll in flight stops (the engine's batch is
cancelled within 100 ms), a write that has begun finishes (it is shielded), then the sink is
flushed and closed and :func:`run_until_stopped` returns normally, so the process exits 0.

Error handling: ``OSError`` if the HTTP address cannot be bound, before anything is polled.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable

import trio

from printwatch.service.appliance import Appliance
from printwatch.service.fairness import manage_gc, release_gc

log = logging.getLogger(__name__)

Started = Callable[[tuple[str, int] | None], None]
#: The HTTP server, started with ``nursery.start(http)``: it reports the address it is bound to
#: and serves until cancelled (the web layer's, e.g. ``WebSetup.serve``: this layer does not
#: import the web layer, which builds on it).
HttpServer = Callable[..., Awaitable[None]]


async def run_until_stopped(
    appliance: Appliance,
    *,
    http: HttpServer | None = None,
    duration_s: float | None = None,
    on_started: Started | None = None,
) -> str:
    """Serves until a signal or ``duration_s``; returns why it stopped (``SIGTERM``, ``SIGINT``
    or ``duration``). ``http``: the HTTP server to start first (none: the appliance serves no
    HTTP); ``on_started`` gets the address it is bound to."""
    why = "duration"
    try:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                address = await nursery.start(http) if http is not None else None
                manage_gc()  # see printwatch.service.fairness
                await nursery.start(appliance.serve)
                await nursery.start(appliance.uplink.serve)
                if on_started is not None:
                    on_started(address)
                with trio.move_on_after(duration_s if duration_s is not None else float("inf")):
                    async for signum in signals:
                        why = signal.Signals(signum).name
                        log.info("%s: finishing the write in hand, then stopping", why)
                        break
                nursery.cancel_scope.cancel()
    finally:
        release_gc()
        await appliance.aclose()
    log.info("stopped (%s)", why)
    return why

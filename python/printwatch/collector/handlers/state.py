"""What the collector's handlers share: their state (on ``app.state.collector``), the limits
that apply to every request, and a bounded read of a request's body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import trio
from starlette.requests import Request

from printwatch.collector.store import CollectorStore

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_ENROL_BYTES = 4096
#: A request body must arrive within this (a slow sender holds no memory or slot for long).
BODY_TIMEOUT_S = 30.0
#: An upload's envelope header (75 bytes) must arrive within this, before it gets a slot.
HEAD_TIMEOUT_S = 3.0
#: Uploads read at once; one more is answered 503 with ``Retry-After`` (the appliance retries).
MAX_CONCURRENT_UPLOADS = 16
#: Per site and UTC day, unless the site's settings say ``quota_bytes_per_day``.
QUOTA_BYTES_PER_DAY = 64 * 1024 * 1024
#: Failed enrolments per client address and window before it is answered 429.
ENROL_FAILURES, ENROL_WINDOW_S = 10, 600.0


class BodyTooLarge(Exception):
    pass


class Refused(Exception):
    """An answer before the whole body was read (unknown key, over quota)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class EnrolThrottle:
    """Failed enrolments per client address in a sliding window (memory bounded by addresses
    seen in the window)."""

    def __init__(self, failures: int = ENROL_FAILURES, window_s: float = ENROL_WINDOW_S) -> None:
        self.failures, self.window_s = failures, window_s
        self.seen: dict[str, list[float]] = {}

    def blocked(self, address: str) -> bool:
        now = trio.current_time()
        for key in [k for k, times in self.seen.items() if times[-1] < now - self.window_s]:
            del self.seen[key]
        times = [t for t in self.seen.get(address, []) if t >= now - self.window_s]
        return len(times) >= self.failures

    def failed(self, address: str) -> None:
        self.seen.setdefault(address, []).append(trio.current_time())


def _two_threads() -> trio.CapacityLimiter:
    return trio.CapacityLimiter(2)


@dataclass
class CollectorState:
    """One app's state. ``limiter`` is the one thread that uses the store (shared by the two
    listeners of ``collector serve --api-port``); ``cpu`` checks signatures and inflates beside
    it; ``refused`` counts the bytes of refused uploads per site and UTC day."""

    store: CollectorStore
    now: Callable[[], dt.datetime]
    limiter: trio.CapacityLimiter
    upload_slots: trio.CapacityLimiter
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    body_timeout_s: float = BODY_TIMEOUT_S
    cpu: trio.CapacityLimiter = field(default_factory=_two_threads)
    refused: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "rejected": 0})
    throttle: EnrolThrottle = field(default_factory=EnrolThrottle)

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs ``fn(*args)`` in the store's one thread."""
        return await trio.to_thread.run_sync(fn, *args, limiter=self.limiter)


def state_of(request: Request) -> CollectorState:
    state: CollectorState = request.app.state.collector
    return state


def declared_length(request: Request) -> int | None:
    """The request's ``Content-Length`` when it is a number."""
    declared = request.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


async def read_body(request: Request, limit: int, *, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The body, at most ``limit`` bytes (else :class:`BodyTooLarge`), within ``timeout_s``
    (else ``trio.TooSlowError``)."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks = bytearray()
    # aclosing: a refusal in the middle closes the stream at once (no generator left to the GC).
    with trio.fail_after(timeout_s):
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                chunks += chunk
                if len(chunks) > limit:
                    raise BodyTooLarge
    return bytes(chunks)

"""What the console's handlers share beyond the collector's state: the login throttle (its
failures kept in the store, shared by every front end of one PostgreSQL), the one thread that
hashes passwords, and whether cookies are Secure."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio
from starlette.requests import Request

from printwatch.collector.throttle import StoredThrottle


@dataclass
class ConsoleState:
    secure: bool = True
    throttle: StoredThrottle = field(default_factory=StoredThrottle)
    #: scrypt takes 128 MiB and half a second: one at a time.
    hashing: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))
    #: Limits of the shared body middleware (:class:`printwatch.web.auth.limits.BodyLimit`).
    public_body_bytes: int = 16 * 1024
    session_body_bytes: int = 16 * 1024
    body_timeout_s: float = 10.0
    #: How the body middleware's log lines name this app.
    log_name: str = "console"


def console_of(request: Request) -> ConsoleState:
    console: ConsoleState = request.app.state.console
    return console

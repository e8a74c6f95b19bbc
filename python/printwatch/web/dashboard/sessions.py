"""Sessions (in memory), their CSRF tokens, and the login throttle.

A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure over TLS);
the server keeps, per token, the user, the session's CSRF token, whether the password must be
changed first, and when it expires (``idle_s`` after the last request, ``max_s`` after the
login). Sessions live in the appliance's memory: a restart logs everybody out.

The throttle counts failed logins per client address: after ``free_failures`` failures in
``window_s``, each next attempt must wait ``2 ** (failures - free_failures)`` seconds (up to
``max_delay_s``) after the last failure; an attempt earlier than that is refused without
checking the password (HTTP 429 with Retry-After), so a burst of guesses costs its sender time
and the appliance nothing but a dictionary lookup.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "pw_session"
LOGIN_COOKIE = "pw_login"  # the login form's CSRF token (double submit: cookie and field)


@dataclass
class Session:
    user: str
    csrf: str
    must_change: bool
    created: float
    seen: float


class Sessions:
    """Tokens to :class:`Session` (see the module's docstring)."""

    def __init__(
        self,
        *,
        idle_s: float = 8 * 3600.0,
        max_s: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def open(self, user: str, *, must_change: bool) -> tuple[str, Session]:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), must_change, now, now)
        self._sessions[token] = session
        if len(self._sessions) % 64 == 0:
            self._expire(now)
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token`` (its idle time restarts), or None."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle_s or now - session.created > self.max_s:
            del self._sessions[token]
            return None
        session.seen = now
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def close_all(self, user: str, *, keep: str | None = None) -> None:
        """Logs ``user`` out everywhere but ``keep`` (after a password change)."""
        for token in [t for t, s in self._sessions.items() if s.user == user and t != keep]:
            del self._sessions[token]

    def _expire(self, now: float) -> None:
        for token in [
            t for t, s in self._sessions.items() if now - s.seen > self.idle_s or now - s.created > self.max_s
        ]:
            del self._sessions[token]

    def __len__(self) -> int:
        return len(self._sessions)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


@dataclass
class _Failures:
    times: list[float] = field(default_factory=list)


class LoginThrottle:
    """Failed logins per client address (see the module's docstring)."""

    def __init__(
        self,
        *,
        free_failures: int = 5,
        window_s: float = 900.0,
        max_delay_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.window_s = window_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self._failures: dict[str, _Failures] = {}

    def _recent(self, client: str, now: float) -> list[float]:
        entry = self._failures.get(client)
        if entry is None:
            return []
        entry.times = [t for t in entry.times if now - t < self.window_s]
        if not entry.times:
            del self._failures[client]
            return []
        return entry.times

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must wait before its next attempt is even checked (0: go ahead)."""
        now = self.clock()
        times = self._recent(client, now)
        excess = len(times) - self.free_failures
        if excess < 0:
            return 0.0
        delay = min(2.0**excess, self.max_delay_s)
        return max(0.0, times[-1] + delay - now)

    def failed(self, client: str) -> None:
        now = self.clock()
        self._recent(client, now)
        self._failures.setdefault(client, _Failures()).times.append(now)
        if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest
            oldest = min(self._failures, key=lambda c: self._failures[c].times[-1])
            del self._failures[oldest]

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

"""Sessions (kept in a file of the state directory), their CSRF tokens, and the login throttle.

A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure over TLS);
the server keeps, per token, the user, the session's CSRF token, whether the password must be
changed first, and when it expires (``idle_s`` after the last request, ``max_s`` after the
login). Sessions are known by the SHA-256 of their token, in memory and in the file
(:mod:`~printwatch.web.auth.session_file`, ``state_dir/web-sessions.json``, 0600, replaced
atomically): a restart of the appliance (an update, a reboot of its VM) logs nobody out, within
each session's own limits, and reading the file does not give anyone a session.

When the file is written: a login, a logout and a password change (which ends the user's other
sessions) at once, in a worker thread, before the answer is sent (:meth:`Sessions.save_if_due`);
the ``seen`` times that every request moves, and sessions that expired, lazily: at most once
every ``save_interval_s`` (a minute), by the next request after that, and at shutdown
(:meth:`Sessions.save`; after a crash instead of a stop, a session's idle time counts from up to
a minute earlier). Expired sessions are dropped when the file is read and are never written
back. Without a file (``file=None``) sessions live in memory only.

The throttle counts failed logins per client address, **in memory only** (a restart forgets
them): after ``free_failures`` failures in ``window_s``, each next attempt must wait
``2 ** (failures - free_failures)`` seconds (up to ``max_delay_s``) after the last failure; an
attempt earlier than that is refused without checking the password (HTTP 429 with Retry-After),
so a burst of guesses costs its sender time and the appliance nothing but a dictionary lookup.
The decision and the bookkeeping are one step (:meth:`LoginThrottle.reserve`, no ``await`` in
it): an attempt that may go ahead is counted as a failure *before* its password is checked, and
forgiven by :meth:`LoginThrottle.succeeded`, so attempts that arrive together, while the first
checks are still running, cannot all pass a decision that their own failures would have changed.

Error handling: a sessions file that cannot be read or parsed is a warning naming it and no
sessions (everybody logs in again), never a failed start; a write that fails is a warning naming
the file (the sessions stay valid in memory; the write is tried again a minute later, so a
logout that could not be written may come back after a restart until then).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from printwatch.web.auth.session_file import Session, SessionFile, Snapshot

log = logging.getLogger(__name__)

COOKIE = "pw_session"
LOGIN_COOKIE = "pw_login"  # the login form's CSRF token (double submit: cookie and field)


def token_hash(token: str) -> str:
    """The SHA-256 of a session token, in hex: how a session is known in memory and on disk."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Sessions by token hash, saved to ``file`` (see the module's docstring)."""

    def __init__(
        self,
        file: SessionFile | None = None,
        *,
        idle_s: float = 8 * 3600.0,
        max_s: float = 7 * 86400.0,
        save_interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self.save_interval_s = save_interval_s
        self.clock = clock
        self.file = file
        self._sessions: dict[str, Session] = {}
        self._urgent = False  # a login, logout or password change not written yet
        self._lazy = False  # only seen times or expiries not written yet
        self._last_write = -float("inf")  # clock() of the last write (or failed try)
        self._limiter = trio.CapacityLimiter(1)  # one writing thread at a time
        if file is not None:
            self._sessions = file.load()
            before = len(self._sessions)
            self._expire(self.clock())
            self._lazy = len(self._sessions) != before

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle_s or now - session.created > self.max_s

    def open(self, user: str, *, must_change: bool) -> tuple[str, Session]:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), must_change, now, now)
        self._sessions[token_hash(token)] = session
        self._urgent = True
        if len(self._sessions) % 64 == 0:
            self._expire(now)
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token`` (its idle time restarts), or None."""
        if not token:
            return None
        digest = token_hash(token)
        session = self._sessions.get(digest)
        if session is None:
            return None
        now = self.clock()
        self._lazy = True
        if self._expired(session, now):
            del self._sessions[digest]
            return None
        session.seen = now
        return session

    def close(self, token: str | None) -> None:
        if token and self._sessions.pop(token_hash(token), None) is not None:
            self._urgent = True

    def close_all(self, user: str, *, keep: str | None = None) -> None:
        """Logs ``user`` out everywhere but ``keep`` (after a password change)."""
        kept = token_hash(keep) if keep else None
        for digest in [d for d, s in self._sessions.items() if s.user == user and d != kept]:
            del self._sessions[digest]
        self._urgent = True  # the kept session's must_change may have changed too

    def _expire(self, now: float) -> None:
        for digest in [d for d, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[digest]

    def __len__(self) -> int:
        return len(self._sessions)

    def due(self) -> bool:
        """Whether a write is owed now: a login, logout or password change, or other changes
        ``save_interval_s`` after the last write (or a clock that went back)."""
        if self.file is None or not (self._urgent or self._lazy):
            return False
        if self._urgent:
            return True
        since_s = self.clock() - self._last_write
        return since_s >= self.save_interval_s or since_s < 0

    def _snapshot(self, file: SessionFile) -> Snapshot:
        now = self.clock()
        self._expire(now)
        self._urgent = self._lazy = False
        self._last_write = now
        return file.snapshot(self._sessions)

    def _write(self, file: SessionFile, snapshot: Snapshot) -> bool:
        try:
            file.write(snapshot)
        except OSError as err:
            log.warning("dashboard sessions file %s cannot be written: %s", file.path, err)
            return False
        return True

    async def save_if_due(self) -> None:
        """Writes the file in a worker thread when :meth:`due` (the request waits for it)."""
        if self.file is None or not self.due():
            return
        snapshot = self._snapshot(self.file)
        if not await trio.to_thread.run_sync(self._write, self.file, snapshot, limiter=self._limiter):
            self._lazy = True  # tried again save_interval_s later

    def save(self) -> None:
        """Writes what is not written yet, in this thread (at shutdown, outside Trio)."""
        if self.file is not None and (self._urgent or self._lazy):
            self._write(self.file, self._snapshot(self.file))


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def delay_s(failures: int, free_failures: int, max_delay_s: float) -> float:
    """How long after the latest of ``failures`` failed logins the next may be checked: none for
    the first ``free_failures``, then 1, 2, 4... seconds, up to ``max_delay_s`` (the rule of
    every login throttle: the dashboard's and the collector console's)."""
    excess = failures - free_failures
    return 0.0 if excess < 0 else min(2.0**excess, max_delay_s)


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
        """Seconds ``client`` must wait before its next attempt is even checked (0: go ahead);
        changes nothing (see :meth:`reserve` for the decision that counts)."""
        now = self.clock()
        times = self._recent(client, now)
        if not times:
            return 0.0
        return max(0.0, times[-1] + delay_s(len(times), self.free_failures, self.max_delay_s) - now)

    def reserve(self, client: str) -> float:
        """Whether ``client`` may have a password checked now, decided and recorded at once:
        0.0 when it may, the attempt being counted as a failure already (until
        :meth:`succeeded` forgives it); else the seconds to wait, with nothing recorded."""
        wait_s = self.wait_s(client)
        if wait_s == 0.0:
            self.failed(client)
        return wait_s

    def reserve_all(self, keys: Sequence[str]) -> float:
        """:meth:`reserve` for several keys at once (a client and the user it names): go ahead
        (0.0, a failure counted under each key) only when no key must wait, else the longest
        wait, with nothing recorded."""
        wait_s = max(self.wait_s(k) for k in keys)
        if wait_s == 0.0:
            for key in keys:
                self.failed(key)
        return wait_s

    def failed(self, client: str) -> None:
        """Counts a failure of ``client`` now (:meth:`reserve` does it for a login)."""
        now = self.clock()
        self._recent(client, now)
        self._failures.setdefault(client, _Failures()).times.append(now)
        if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest
            oldest = min(self._failures, key=lambda c: self._failures[c].times[-1])
            del self._failures[oldest]

    def succeeded(self, client: str) -> None:
        """Forgets ``client``'s failures (a login that succeeded, its own reservation included)."""
        self._failures.pop(client, None)


def network_of(host: str) -> str:
    """The address a throttle counts by: an IPv4 address, or an IPv6 address's /64 (one
    customer's line has a whole /64, so counting each address would give it 2**64 allowances)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)

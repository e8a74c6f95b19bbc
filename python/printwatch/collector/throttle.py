"""The console's login throttle, kept in the collector's store: every front end of one
PostgreSQL counts the same failed logins, so N front ends behind a balancer give an attacker no
more attempts than one (in memory, each gave its own allowance: N times as many).

The rule is the dashboard's (:func:`printwatch.web.auth.sessions.delay_s`): per key (the console
counts an address's user and a user from anywhere), the first :attr:`StoredThrottle.free_failures`
failures are free, then each next attempt waits 1, 2, 4... seconds (up to ``max_delay_s``) after
the latest failure, refused unchecked meanwhile. Failures are counted as long as each comes
within ``window_s`` of the one before; a quiet ``window_s`` forgets them. The decision and the
bookkeeping are one transaction (:meth:`StoredThrottle.reserve_all`): each key's row is made if
missing and locked (``FOR UPDATE`` on PostgreSQL, in the keys' order, so two front ends never
wait on each other in a circle), the attempt counted as a failure before its password is
checked, and forgiven by :meth:`StoredThrottle.succeeded`: attempts sent together to several
front ends cannot all pass a decision their own failures would have changed. The times are the
collector's clock (``now``), never the wall clock read here.

Rows of keys quiet for ``window_s`` are deleted at most once a minute per front end, in a
statement of their own (``login_failures`` holds about the attempts of the last window).

Error handling: what the store raises (``StoreUnavailable`` when PostgreSQL is away: the login
is answered 503, unchecked, never let through).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from printwatch.collector.store import CollectorStore
from printwatch.web.auth.sessions import delay_s

#: Quiet keys are deleted at most this often (per front end).
PRUNE_EVERY = dt.timedelta(minutes=1)


class StoredThrottle:
    """Failed console logins per key, in the store (see the module's docstring)."""

    def __init__(
        self, *, free_failures: int = 5, window_s: float = 900.0, max_delay_s: float = 300.0
    ) -> None:
        self.free_failures = free_failures
        self.window_s = window_s
        self.max_delay_s = max_delay_s
        self._pruned: dt.datetime | None = None

    def _wait_s(self, failures: int, last_at: dt.datetime, now: dt.datetime) -> tuple[int, float]:
        """The failures still counted at ``now`` and the seconds to wait before the next."""
        since = (now - last_at).total_seconds()
        if since >= self.window_s:
            return 0, 0.0
        return failures, max(0.0, delay_s(failures, self.free_failures, self.max_delay_s) - since)

    def reserve_all(self, store: CollectorStore, keys: Sequence[str], now: dt.datetime) -> float:
        """Whether an attempt counted under every one of ``keys`` may have its password checked
        now, decided and recorded at once: 0.0 when it may (a failure counted under each key,
        until :meth:`succeeded`), else the longest wait in seconds, with nothing recorded."""
        ordered = sorted(set(keys))
        with store.transaction() as con:
            for key in ordered:
                con.execute(
                    "INSERT INTO login_failures (throttle_key, failures, last_at) VALUES (?, 0, ?) "
                    "ON CONFLICT DO NOTHING",
                    [key, now],
                )
            rows = {
                str(key): (int(failures), last_at)
                for key, failures, last_at in (
                    con.execute(
                        "SELECT throttle_key, failures, last_at FROM login_failures WHERE throttle_key = ?"
                        + store.row_lock,
                        [key],
                    ).fetchone()
                    for key in ordered
                )
            }
            counted = {key: self._wait_s(*rows[key], now) for key in ordered}
            wait_s = max(w for _, w in counted.values())
            if wait_s == 0.0:
                for key in ordered:
                    con.execute(
                        "UPDATE login_failures SET failures = ?, last_at = ? WHERE throttle_key = ?",
                        [counted[key][0] + 1, now, key],
                    )
        self._prune(store, now)
        return wait_s

    def succeeded(self, store: CollectorStore, keys: Sequence[str]) -> None:
        """Forgets the failures of ``keys`` (a login that succeeded, its own reservation too)."""
        with store.transaction() as con:
            for key in sorted(set(keys)):
                con.execute("DELETE FROM login_failures WHERE throttle_key = ?", [key])

    def failures(self, store: CollectorStore, key: str, now: dt.datetime) -> int:
        """The failures still counted under ``key`` at ``now`` (for the tests and the curious)."""
        row = store.con.execute(
            "SELECT failures, last_at FROM login_failures WHERE throttle_key = ?", [key]
        ).fetchone()
        return 0 if row is None else self._wait_s(int(row[0]), row[1], now)[0]

    def _prune(self, store: CollectorStore, now: dt.datetime) -> None:
        if self._pruned is not None and dt.timedelta(0) <= now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        with store.transaction() as con:
            con.execute(
                "DELETE FROM login_failures WHERE last_at <= ?", [now - dt.timedelta(seconds=self.window_s)]
            )

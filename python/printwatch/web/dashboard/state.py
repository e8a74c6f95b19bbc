"""What the dashboard's pages share, kept on ``app.state.dashboard``: the store's reads, the
password, sessions, the login throttle, the sweeper, and the limits the middleware applies.

The handlers read it at each request (``request.app.state.dashboard``), so a test may swap a
part (the throttle, the password file, the API token) on a running app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from printwatch.clock import utcnow
from printwatch.config.model import SnmpConfig
from printwatch.store import Store
from printwatch.web.auth.limits import BODY_TIMEOUT_S, PUBLIC_BODY_BYTES, SESSION_BODY_BYTES
from printwatch.web.auth.passwords import PasswordFile
from printwatch.web.auth.session_file import SESSIONS_FILE, SessionFile
from printwatch.web.auth.sessions import LoginThrottle, Sessions
from printwatch.web.dashboard.data import DashboardData
from printwatch.web.dashboard.sweep import Sweeper, SweepScope

PASSWORD_FILE = "web-password.json"
#: "Add a printer": how long a name may take to resolve, and how many lookups run at once (a
#: lookup given up on keeps its thread, and its place, until the resolver returns).
RESOLVE_TIMEOUT_S = 5.0
RESOLVE_THREADS = 4


def _utc_now() -> dt.datetime:
    return utcnow()


@dataclass
class Dashboard:
    """What the pages need: the store's reads, the password, sessions, the login throttle.

    ``secure`` marks cookies Secure (served over TLS); ``api_token`` is the bearer token for
    ``/metrics`` and ``/api/...`` (see :mod:`~printwatch.web.dashboard.gate`); the ``*_body_*``
    fields bound request bodies (see :mod:`~printwatch.web.auth.limits`)."""

    data: DashboardData
    passwords: PasswordFile
    store: Store | None = None
    secure: bool = False
    api_token: str | None = None
    sessions: Sessions = field(default_factory=Sessions)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock: Callable[[], dt.datetime] = _utc_now
    sweeper: Sweeper | None = None  # discovery sweeps (with the appliance's communities)
    # scrypt runs in worker threads, one at a time: a burst cannot take every core, and memory
    # grows by one hash's 128 MiB at most (128 * r * N, see auth.SCRYPT_N)
    hash_limiter: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))
    resolve_timeout_s: float = RESOLVE_TIMEOUT_S
    resolve_limiter: trio.CapacityLimiter = field(
        default_factory=lambda: trio.CapacityLimiter(RESOLVE_THREADS)
    )
    public_body_bytes: int = PUBLIC_BODY_BYTES
    session_body_bytes: int = SESSION_BODY_BYTES
    body_timeout_s: float = BODY_TIMEOUT_S

    @classmethod
    def open(
        cls,
        store: Store,
        state_dir: Path,
        *,
        secure: bool = False,
        api_token: str | None = None,
        snmp: SnmpConfig | None = None,
        sweep_scope: SweepScope | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> tuple[Dashboard, str | None]:
        """The dashboard of ``store`` with its password and sessions files in ``state_dir``
        (sweeps with ``snmp``'s communities), its pages dated by ``clock`` (the appliance's); and
        the first-run password when this start made it (to print once), else None. Call
        ``dashboard.sessions.save()`` at shutdown."""
        passwords = PasswordFile(state_dir / PASSWORD_FILE)
        first = passwords.first_run()
        sessions = Sessions(SessionFile(state_dir / SESSIONS_FILE))
        dashboard = cls(
            DashboardData(store.reading), passwords, store, secure, api_token, sessions=sessions, clock=clock
        )
        dashboard.sweeper = Sweeper(store, snmp or SnmpConfig(), sweep_scope)
        return dashboard, first

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread with one cursor (one snapshot) for its reads."""

        def run() -> Any:
            with self.data.reading():
                return fn(*args)

        return await trio.to_thread.run_sync(run)

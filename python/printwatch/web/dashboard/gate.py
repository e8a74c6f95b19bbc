"""The gate in front of the whole app: who may see what.

* ``/login`` and ``/health`` answer anyone; ``/health`` in full (version, devices, jobs) only
  to those who may read ``/metrics``, to anyone else its ``status`` alone (a liveness answer
  that tells a stranger nothing about the site).
* ``/metrics`` and ``/api/...`` are for machines: a request with ``Authorization: Bearer TOKEN``
  (``web.api_token``), or, when no token is configured, a request from a loopback address that
  carries no ``Origin`` header and comes from a process of the appliance's own user or root
  (a scraper or ``printwatch assist`` on the appliance itself, run as its user; the owner of the
  client's socket, from the kernel: :mod:`~printwatch.web.dashboard.peer`; another local user
  needs the token; a browser always sends ``Origin`` on a cross-origin POST, so a web page
  cannot use this door).
  A browser with a session may call ``/api/...`` too, with its CSRF token in ``X-CSRF-Token``.
* Everything else needs a session: without one, a redirect (303) to ``/login?next=PATH``; with
  one whose password must be changed, a redirect to ``/settings`` (until it is).

Every answer gets ``Content-Security-Policy`` (scripts and styles from the appliance only),
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``; over TLS
also ``Strict-Transport-Security`` (a year; browsers keep it only from a certificate they trust,
so a self-signed appliance's warning can still be clicked through).

Error handling: refusals are plain answers (303, 401, 403), never exceptions.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from printwatch.web.auth.headers import HEADERS, HSTS, cookie, is_loopback, send_headers, send_plain
from printwatch.web.auth.headers import header as _header
from printwatch.web.auth.session_file import Session
from printwatch.web.auth.sessions import COOKIE, same_token
from printwatch.web.dashboard.peer import is_own_user
from printwatch.web.dashboard.state import Dashboard

PUBLIC = ("/login", "/health")
MACHINE = ("/metrics", "/api/")
CHANGE_PASSWORD_PATHS = ("/settings", "/settings/password", "/logout", "/static/")


def session_token(scope: Scope) -> str | None:
    return cookie(scope, COOKIE)


class AuthGate:
    """ASGI middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, dashboard: Dashboard) -> None:
        self.app = app
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        send_with_headers = send_headers(send, [*HEADERS, HSTS] if self.dashboard.secure else HEADERS)
        path: str = scope["path"]
        session = self.dashboard.sessions.get(session_token(scope))
        await self.dashboard.sessions.save_if_due()  # seen times and expiries: once a minute
        state = scope.setdefault("state", {})
        state["session"] = session
        if path == "/health":  # (read by printwatch.web.app's handler)
            state["health_detail"] = self._machine_allowed(scope, session)
        if path in PUBLIC:
            await self.app(scope, receive, send_with_headers)
            return
        if path == "/metrics" or path.startswith("/api/"):
            if self._machine_allowed(scope, session):
                await self.app(scope, receive, send_with_headers)
            else:
                await self._plain(send_with_headers, 401, self._machine_credentials())
            return
        if session is None:
            target = path + (
                ("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else ""
            )
            await self._redirect(send_with_headers, "/login?next=" + quote(target, safe=""))
            return
        if session.must_change and not any(
            path == p or (p.endswith("/") and path.startswith(p)) for p in CHANGE_PASSWORD_PATHS
        ):
            await self._redirect(send_with_headers, "/settings")
            return
        await self.app(scope, receive, send_with_headers)

    def _machine_allowed(self, scope: Scope, session: Session | None) -> bool:
        token = self.dashboard.api_token
        auth = _header(scope, b"authorization") or ""
        if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode()):
            return True
        if session is not None and not session.must_change:
            if scope["method"] in ("GET", "HEAD"):
                return True
            return same_token(_header(scope, b"x-csrf-token"), session.csrf)
        client, server = scope.get("client"), scope.get("server")
        return (
            token is None
            and is_loopback(client[0] if client else None)
            and _header(scope, b"origin") is None
            and is_own_user(client, server)
        )

    def _machine_credentials(self) -> str:
        """What a refused machine request lacks, for the 401's text (``printwatch assist`` shows it)."""
        if self.dashboard.api_token:
            return "the API token ([web] api_token) as a bearer token, or a session (with its CSRF token)"
        return (
            "a session (with its CSRF token), or a request from the appliance itself by its own user or "
            "root (or set [web] api_token and send it as a bearer token)"
        )

    @staticmethod
    async def _redirect(send: Send, location: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _plain(send: Send, status: int, what: str) -> None:
        bearer = [(b"www-authenticate", b'Bearer realm="printwatch"')]
        await send_plain(send, status, f"{status}: this needs {what}\n", bearer)

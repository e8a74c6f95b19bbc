"""The dashboard: its pages as Starlette routes on the appliance's app, behind :class:`AuthGate`.

:func:`install` adds the routes, the static files (``static/``, shipped in the package) and the
gate to an app from :func:`printwatch.web.create_app`. Reads go to the history store in worker
threads (:class:`~printwatch.web.dashboard.data.DashboardData`); "add a printer" resolves a
name first (at most ``resolve_timeout_s``, a few lookups at a time) and only then makes its
registry write through the store's own one-at-a-time limiter, like a cycle's ingest: a slow DNS
server never holds up the store's writer.

Every body is bounded before a page reads it (:mod:`~printwatch.web.dashboard.limits`: 4 KiB
without a session, 64 KiB with one, 10 s); the forms are urlencoded, with no file fields.

Error handling: a form without its CSRF token (or with another session's) is refused with 403
and changes nothing; a login form that is not urlencoded is a 415 login page (nothing parsed, no
file spooled); a wrong password is a 401 login page (and counts for the throttle, as does a
wrong current password on the settings page); a throttled login or password change is a 429
with ``Retry-After``, its password unchecked; an unknown printer is a 404 page; a target that
does not resolve (or not in time) is said on the discovery page. Anything else is a 500 logged by the server.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from printwatch.config.model import SnmpConfig
from printwatch.store import Store
from printwatch.store.registry import resolve_ipv4
from printwatch.web.dashboard import pages
from printwatch.web.dashboard.auth import PasswordFile, password_problem
from printwatch.web.dashboard.data import DashboardData, FleetQuery
from printwatch.web.dashboard.gate import AuthGate
from printwatch.web.dashboard.html import page
from printwatch.web.dashboard.limits import BODY_TIMEOUT_S, PUBLIC_BODY_BYTES, SESSION_BODY_BYTES, BodyLimit
from printwatch.web.dashboard.session_file import SESSIONS_FILE, SessionFile
from printwatch.web.dashboard.sessions import (
    COOKIE,
    LOGIN_COOKIE,
    LoginThrottle,
    Session,
    Sessions,
    same_token,
)
from printwatch.web.dashboard.sweep import Sweeper, SweepScope, parse_networks

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
CHART_DAYS = 30
PASSWORD_FILE = "web-password.json"
#: "Add a printer": how long a name may take to resolve, and how many lookups run at once (a
#: lookup given up on keeps its thread, and its place, until the resolver returns).
RESOLVE_TIMEOUT_S = 5.0
RESOLVE_THREADS = 4


@dataclass
class Dashboard:
    """What the pages need: the store's reads, the password, sessions, the login throttle.

    ``secure`` marks cookies Secure (served over TLS); ``api_token`` is the bearer token for
    ``/metrics`` and ``/api/...`` (see :mod:`~printwatch.web.dashboard.gate`); the ``*_body_*``
    fields bound request bodies (see :mod:`~printwatch.web.dashboard.limits`)."""

    data: DashboardData
    passwords: PasswordFile
    store: Store | None = None
    secure: bool = False
    api_token: str | None = None
    sessions: Sessions = field(default_factory=Sessions)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
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
    ) -> tuple[Dashboard, str | None]:
        """The dashboard of ``store`` with its password and sessions files in ``state_dir``
        (sweeps with ``snmp``'s communities); and the first-run password when this start made it
        (to print once), else None. Call ``dashboard.sessions.save()`` at shutdown."""
        passwords = PasswordFile(state_dir / PASSWORD_FILE)
        first = passwords.first_run()
        sessions = Sessions(SessionFile(state_dir / SESSIONS_FILE))
        dashboard = cls(DashboardData(store.reading), passwords, store, secure, api_token, sessions=sessions)
        dashboard.sweeper = Sweeper(store, snmp or SnmpConfig(), sweep_scope)
        return dashboard, first

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread with one cursor (one snapshot) for its reads."""

        def run() -> Any:
            with self.data.reading():
                return fn(*args)

        return await trio.to_thread.run_sync(run)


def _session(request: Request) -> Session:
    session: Session | None = request.scope.get("state", {}).get("session")
    if session is None:  # the gate lets no request without one through to these pages
        raise RuntimeError("dashboard page reached without a session")
    return session


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


async def _checked_form(request: Request, session: Session) -> dict[str, str] | Response:
    """The form's fields, or a 403 when its CSRF token is missing or wrong (a file field: 400)."""
    form = await request.form(max_files=0)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not same_token(fields.get("csrf"), session.csrf):
        return _html(
            page(
                "Refused", "<p class=error>The form's CSRF token is missing or wrong.</p>", csrf=session.csrf
            ),
            403,
        )
    return fields


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/fleet"


def routes(d: Dashboard) -> list[BaseRoute]:
    async def home(_request: Request) -> Response:
        return RedirectResponse("/fleet", status_code=303)

    async def login_form(request: Request) -> Response:
        if request.scope.get("state", {}).get("session") is not None:
            return RedirectResponse("/fleet", status_code=303)
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = _html(pages.login_page(token, next_path=request.query_params.get("next")))
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=d.secure, path="/login"
        )
        return response

    async def login(request: Request) -> Response:
        client = _client(request)
        token = request.cookies.get(LOGIN_COOKIE, "")
        user = ""

        def again(error: str, status: int) -> Response:
            """The login form once more, with ``error`` and what the user gave."""
            page = pages.login_page(token, next_path=request.query_params.get("next"), user=user, error=error)
            return _html(page, status)

        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return again("The login form is sent urlencoded (as the page sends it).", 415)
        form = await request.form(max_files=0)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        user = fields.get("user", "")
        if not token or not same_token(fields.get("csrf"), token):
            return again("The form expired: log in again.", 403)
        # the decision and its bookkeeping in one step, before the await: the attempt counts as a
        # failure until it succeeds, so simultaneous attempts cannot all see "go ahead"
        wait_s = d.throttle.reserve(client)
        if wait_s > 0:
            response = _html(
                pages.login_page(
                    token, user=user, error=f"Too many failed logins: try again in {math.ceil(wait_s)} s."
                ),
                429,
            )
            response.headers["retry-after"] = str(math.ceil(wait_s))
            return response
        password = fields.get("password", "")
        ok = await trio.to_thread.run_sync(d.passwords.verify, user, password, limiter=d.hash_limiter)
        if not ok:
            log.warning("dashboard: failed login for %r from %s", user, client)
            return again("Wrong user or password.", 401)
        d.throttle.succeeded(client)
        cookie, session = d.sessions.open(
            d.passwords.account.user, must_change=d.passwords.account.must_change
        )
        await d.sessions.save_if_due()  # written before the cookie is given
        log.info("dashboard: %s logged in from %s", session.user, client)
        where = "/settings" if session.must_change else _next(request.query_params.get("next"))
        redirect = RedirectResponse(where, status_code=303)
        redirect.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=d.secure, path="/")
        redirect.delete_cookie(LOGIN_COOKIE, path="/login")
        return redirect

    async def logout(request: Request) -> Response:
        session = _session(request)
        fields = await _checked_form(request, session)
        if isinstance(fields, Response):
            return fields
        d.sessions.close(request.cookies.get(COOKIE))
        await d.sessions.save_if_due()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def fleet(request: Request) -> Response:
        session = _session(request)
        q = FleetQuery.parse(dict(request.query_params))
        result = await d.read(d.data.fleet, q)
        return _html(pages.fleet_page(result, session.csrf, d.clock()))

    async def printer(request: Request) -> Response:
        session = _session(request)
        device_id: int = request.path_params["device_id"]
        now = d.clock()
        since = now - dt.timedelta(days=CHART_DAYS)

        def gather() -> dict[str, Any] | None:
            dev = d.data.device(device_id)
            if dev is None:
                return None
            return {
                "dev": dev,
                "forecasts": d.data.forecasts(device_id),
                "supplies": d.data.supply_history(device_id, since),
                "meters": d.data.meter_history(device_id, since),
                "evidence": d.data.meter_evidence(device_id),
                "pages": d.data.pages_per_day(device_id, CHART_DAYS),
                "alerts": d.data.alerts(device_id=device_id, limit=100),
            }

        got = await d.read(gather)
        if got is None:
            return _html(
                page("Not found", f"<p class=error>No printer {device_id}.</p>", csrf=session.csrf), 404
            )
        body = pages.printer_page(
            got["dev"],
            forecasts=got["forecasts"],
            supply_svg=pages.supply_chart(got["supplies"], got["forecasts"], since, now),
            meter_svg=pages.meter_chart(got["meters"], since, now),
            meters=got["evidence"],
            pages=got["pages"],
            alerts=got["alerts"],
            csrf=session.csrf,
            now=now,
        )
        return _html(body)

    async def alerts(request: Request) -> Response:
        session = _session(request)
        open_only = request.query_params.get("open") == "1"
        got = await d.read(lambda: d.data.alerts(open_only=open_only))
        return _html(pages.alerts_page(got, open_only, session.csrf, d.clock()))

    async def uplink(request: Request) -> Response:
        session = _session(request)
        got, problems = await d.read(d.data.uplink_log)
        return _html(pages.uplink_page(got, problems, session.csrf))

    async def uplink_entry(request: Request) -> Response:
        session = _session(request)
        n = int(request.path_params["n"])
        got = await d.read(lambda: d.data.uplink_entry(n))
        if got is None:
            missing = f"<p class=error>No transmission {n}.</p>"
            return _html(page("Not found", missing, csrf=session.csrf), 404)
        return _html(pages.uplink_entry_page(got, session.csrf))

    async def _discovery(
        session: Session,
        *,
        message: str = "",
        error: str = "",
        status: int = 200,
        sweep: str | None = None,
    ) -> Response:
        def gather() -> tuple[list[str], list[tuple[str, Any]]]:
            con = d.data.con()
            manual = [(str(a), t) for a, t in con.execute(
                "SELECT coalesce(name, address), added_at FROM manual_targets ORDER BY added_at DESC"
            ).fetchall()]  # fmt: skip
            return (d.store.targets() if d.store else []), manual

        targets, manual = await d.read(gather)
        if sweep is None:
            sweep = pages.sweep_section(session.csrf, None) if d.sweeper else ""
        body = pages.discovery_page(
            session.csrf, targets=targets, manual=manual, message=message, error=error, sweep=sweep
        )
        return _html(body, status)

    async def discovery(request: Request) -> Response:
        return await _discovery(_session(request))

    async def discovery_add(request: Request) -> Response:
        session = _session(request)
        fields = await _checked_form(request, session)
        if isinstance(fields, Response):
            return fields
        target = fields.get("target", "").strip()
        problem = target_problem(target)
        if problem:
            return await _discovery(session, error=problem, status=400)
        if d.store is None:
            return await _discovery(session, error="No history store to add printers to.", status=503)
        try:
            resolved = await _resolve(target, d.resolve_timeout_s, d.resolve_limiter)
            # the write lock only now, with the address in hand
            address = await _write(d.store, partial(d.store.add_manual, address=resolved), target)
        except ValueError as err:
            return await _discovery(session, error=str(err), status=400)
        log.info("dashboard: %r added by hand as %s", target, address)
        return await _discovery(
            session, message=f"Added {target} ({address}); it is polled from the next cycle."
        )

    async def discovery_sweep(request: Request) -> Response:
        session = _session(request)
        fields = await _checked_form(request, session)
        if isinstance(fields, Response):
            return fields
        if d.sweeper is None:
            return await _discovery(session, error="No history store to file printers in.", status=503)
        text = fields.get("networks", "")
        port = 161
        try:
            port = int(fields.get("port", "161") or "161")
            networks = parse_networks(text)
            result = await d.sweeper.sweep(networks, port)
        except ValueError as err:
            form = pages.sweep_section(session.csrf, None, networks=text, port=port)
            return await _discovery(session, error=str(err), status=400, sweep=form)
        log.info("dashboard: sweep of %s: %d printers", " ".join(networks), len(result.printers))
        section = pages.sweep_section(session.csrf, result, networks=text, port=port)
        return await _discovery(session, sweep=section)

    async def settings(request: Request) -> Response:
        session = _session(request)
        return _html(pages.password_page(session.csrf, must_change=session.must_change))

    async def change_password(request: Request) -> Response:
        session = _session(request)
        fields = await _checked_form(request, session)
        if isinstance(fields, Response):
            return fields
        current, new, again = (fields.get(k, "") for k in ("current", "new", "again"))

        def fail(error: str, status: int = 400) -> Response:
            return _html(
                pages.password_page(session.csrf, must_change=session.must_change, error=error), status
            )

        # the current password is a guess like a login's: the same throttle, the same address
        client = _client(request)
        wait_s = d.throttle.reserve(client)
        if wait_s > 0:
            response = fail(f"Too many wrong passwords: try again in {math.ceil(wait_s)} s.", 429)
            response.headers["retry-after"] = str(math.ceil(wait_s))
            return response
        ok = await trio.to_thread.run_sync(d.passwords.verify, session.user, current, limiter=d.hash_limiter)
        if not ok:
            log.warning("dashboard: wrong current password for %r from %s", session.user, client)
            return fail("The current password is wrong.", 401)
        d.throttle.succeeded(client)
        if new != again:
            return fail("The two new passwords differ.")
        problem = password_problem(new, current)
        if problem:
            return fail(problem)
        await trio.to_thread.run_sync(d.passwords.change, new, limiter=d.hash_limiter)
        session.must_change = False
        d.sessions.close_all(session.user, keep=request.cookies.get(COOKIE))
        await d.sessions.save_if_due()
        log.info("dashboard: password of %s changed", session.user)
        return _html(pages.password_page(session.csrf, must_change=False, done="Password changed."))

    return [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/fleet", fleet),
        Route("/printer/{device_id:int}", printer),
        Route("/alerts", alerts),
        Route("/discovery", discovery),
        Route("/discovery/add", discovery_add, methods=["POST"]),
        Route("/discovery/sweep", discovery_sweep, methods=["POST"]),
        Route("/uplink", uplink),
        Route("/uplink/{n:int}", uplink_entry),
        Route("/settings", settings),
        Route("/settings/password", change_password, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def target_problem(target: str) -> str | None:
    """Why ``target`` is neither an IPv4 address nor a host name (checked before any lookup)."""
    try:
        ipaddress.IPv4Address(target)
        return None
    except ValueError:
        pass
    labels = target.rstrip(".").split(".")
    if not target or len(target) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"{target!r} is neither an IPv4 address nor a host name"
    if all(label.isdigit() for label in labels):
        return f"{target!r} is not a valid IPv4 address"
    return None


async def _resolve(target: str, timeout_s: float, limiter: trio.CapacityLimiter) -> str:
    """``target``'s IPv4 address, resolved in a worker thread within ``timeout_s``.

    Error handling: a name that does not resolve, or not in time, is a :class:`ValueError`."""
    with trio.move_on_after(timeout_s):
        address, _ = await trio.to_thread.run_sync(
            resolve_ipv4, target, limiter=limiter, abandon_on_cancel=True
        )
        return address
    raise ValueError(f"manual target {target!r}: DNS gave no answer within {timeout_s:g} s")


async def _write(store: Store, fn: Callable[[str], str], arg: str) -> str:
    """A registry write in a worker thread, one at a time with the store's ingests."""
    limiter = store.write_limiter
    return await trio.to_thread.run_sync(fn, arg, limiter=limiter)


def install(app: Starlette, dashboard: Dashboard) -> Starlette:
    """Adds the dashboard's routes and gate to ``app`` (before it serves its first request)."""
    app.router.routes.extend(routes(dashboard))
    app.add_middleware(BodyLimit, dashboard=dashboard)  # inside the gate: it knows the session
    app.add_middleware(AuthGate, dashboard=dashboard)
    return app

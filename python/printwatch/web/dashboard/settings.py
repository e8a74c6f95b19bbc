"""The settings page (``/settings``): change the password (the current one, the new one twice).

The current password is a guess like a login's: the same throttle, per address. A change ends
the user's other sessions, written to the sessions file before the answer.

Error handling: a form without its CSRF token is a 403 (nothing changed); a wrong current
password is a 401, a throttled one a 429 with ``Retry-After`` (unchecked); new passwords that
differ or are too weak are a 400.
"""

from __future__ import annotations

import logging
import math

import trio
from starlette.requests import Request
from starlette.responses import Response

from printwatch.web.auth.passwords import password_problem
from printwatch.web.auth.sessions import COOKIE
from printwatch.web.dashboard.view import checked_form, client_of, dashboard_of, page, session_of

log = logging.getLogger(__name__)


def _page(request: Request, status: int = 200, *, error: str = "", done: str = "") -> Response:
    must_change = session_of(request).must_change
    return page(request, "settings.html", status, must_change=must_change, error=error, done=done)


async def settings(request: Request) -> Response:
    return _page(request)


async def _check_current(request: Request, current: str) -> Response | None:
    """None when ``current`` is the user's password; else the answer (throttled, or wrong)."""
    d, session, client = dashboard_of(request), session_of(request), client_of(request)
    wait_s = d.throttle.reserve(client)
    if wait_s > 0:
        response = _page(request, 429, error=f"Too many wrong passwords: try again in {math.ceil(wait_s)} s.")
        response.headers["retry-after"] = str(math.ceil(wait_s))
        return response
    ok = await trio.to_thread.run_sync(d.passwords.verify, session.user, current, limiter=d.hash_limiter)
    if not ok:
        log.warning("dashboard: wrong current password for %r from %s", session.user, client)
        return _page(request, 401, error="The current password is wrong.")
    d.throttle.succeeded(client)
    return None


async def change_password(request: Request) -> Response:
    fields = await checked_form(request)
    if isinstance(fields, Response):
        return fields
    current, new, again = (fields.get(k, "") for k in ("current", "new", "again"))
    refused = await _check_current(request, current)
    if refused is not None:
        return refused
    problem = "The two new passwords differ." if new != again else password_problem(new, current)
    if problem:
        return _page(request, 400, error=problem)
    d, session = dashboard_of(request), session_of(request)
    await trio.to_thread.run_sync(d.passwords.change, new, limiter=d.hash_limiter)
    session.must_change = False
    d.sessions.close_all(session.user, keep=request.cookies.get(COOKIE))
    await d.sessions.save_if_due()
    log.info("dashboard: password of %s changed", session.user)
    return _page(request, done="Password changed.")

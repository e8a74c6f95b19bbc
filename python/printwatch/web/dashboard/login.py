"""Logging in and out: ``GET /login`` (the form, with its own CSRF token in a cookie and a
field), ``POST /login``, ``POST /logout``.

A login attempt counts as a failure as soon as it starts (the throttle's ``reserve``, no await
between the decision and the record), so simultaneous attempts cannot get past the limit; the
password is checked with scrypt in a worker thread, one at a time. A new session is written to
the sessions file before its cookie is given.

Error handling: a login form that is not urlencoded is a 415 login page (nothing parsed, no file
spooled); without its token (or with one not matching its cookie), a 403; a wrong password, a
401 (and counts for the throttle); a throttled attempt, a 429 with ``Retry-After``, its password
unchecked.
"""

from __future__ import annotations

import logging
import math
import secrets

import trio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.web.auth.sessions import COOKIE, LOGIN_COOKIE, same_token
from printwatch.web.dashboard.formats import qs
from printwatch.web.dashboard.view import checked_form, client_of, dashboard_of, page
from printwatch.web.templating import stylesheet

log = logging.getLogger(__name__)

URLENCODED = "application/x-www-form-urlencoded"


def safe_next(target: str | None) -> str:
    """Where to go after the login: a path on this site, else the fleet."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/fleet"


def _page(
    request: Request, token: str, status: int = 200, *, user: str = "admin", error: str = ""
) -> Response:
    """The login form (its stylesheet inline: nothing else answers without a session)."""
    next_path = request.query_params.get("next")
    action = "/login?" + qs(next=next_path) if next_path else "/login"
    return page(
        request,
        "login.html",
        status,
        token=token,
        action=action,
        user=user,
        error=error,
        inline_css=stylesheet(),
    )


async def login_form(request: Request) -> Response:
    if request.scope.get("state", {}).get("session") is not None:
        return RedirectResponse("/fleet", status_code=303)
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = _page(request, token)
    secure = dashboard_of(request).secure
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login")
    return response


def _throttled(request: Request, token: str, user: str, wait_s: float) -> Response:
    response = _page(
        request, token, 429, user=user, error=f"Too many failed logins: try again in {math.ceil(wait_s)} s."
    )
    response.headers["retry-after"] = str(math.ceil(wait_s))
    return response


async def login(request: Request) -> Response:
    d, client = dashboard_of(request), client_of(request)
    token = request.cookies.get(LOGIN_COOKIE, "")
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != URLENCODED:
        return _page(
            request, token, 415, user="", error="The login form is sent urlencoded (as the page sends it)."
        )
    form = await request.form(max_files=0)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    user = fields.get("user", "")
    if not token or not same_token(fields.get("csrf"), token):
        return _page(request, token, 403, user=user, error="The form expired: log in again.")
    # the decision and its bookkeeping in one step, before the await: the attempt counts as a
    # failure until it succeeds, so simultaneous attempts cannot all see "go ahead"
    wait_s = d.throttle.reserve(client)
    if wait_s > 0:
        return _throttled(request, token, user, wait_s)
    ok = await trio.to_thread.run_sync(
        d.passwords.verify, user, fields.get("password", ""), limiter=d.hash_limiter
    )
    if not ok:
        log.warning("dashboard: failed login for %r from %s", user, client)
        return _page(request, token, 401, user=user, error="Wrong user or password.")
    return await _logged_in(request, client)


async def _logged_in(request: Request, client: str) -> Response:
    """A new session, written before its cookie is given; on to the page asked for (or to the
    settings while the first-run password is not changed)."""
    d = dashboard_of(request)
    d.throttle.succeeded(client)
    account = d.passwords.account
    cookie, session = d.sessions.open(account.user, must_change=account.must_change)
    await d.sessions.save_if_due()
    log.info("dashboard: %s logged in from %s", session.user, client)
    where = "/settings" if session.must_change else safe_next(request.query_params.get("next"))
    redirect = RedirectResponse(where, status_code=303)
    redirect.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=d.secure, path="/")
    redirect.delete_cookie(LOGIN_COOKIE, path="/login")
    return redirect


async def logout(request: Request) -> Response:
    fields = await checked_form(request)
    if isinstance(fields, Response):
        return fields
    d = dashboard_of(request)
    d.sessions.close(request.cookies.get(COOKIE))
    await d.sessions.save_if_due()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response

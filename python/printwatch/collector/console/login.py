"""``GET /console/login`` (the form, with its own CSRF token in a cookie and a field), ``POST
/console/login``, ``POST /console/logout``.

The password is checked with scrypt in a worker thread beside the store's (one at a time), the
attempt counted as a failure before it starts (the login throttle's ``reserve_all``, in the
store: attempts sent together, to one front end or several, cannot pass the limit). A login always
makes a new session (a cookie set before it, by anyone, never becomes a session: no fixation),
kept in the store by its hash; the cookie is HttpOnly, SameSite=Strict and Secure. Logging out
deletes the session from the store.

Error handling: a form not urlencoded is a 415; without its token (or one not matching its
cookie) a 403; a wrong user or password a 401 (one answer for both); throttled a 429 with
``Retry-After``, the password unchecked; a 503 with ``Retry-After`` while
:data:`MAX_WAITING_LOGINS` logins already wait for the password hash (unchecked, uncounted).
"""

from __future__ import annotations

import logging
import math
import secrets

import trio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.collector.access import SESSION_COOKIE, require
from printwatch.collector.console.state import console_of
from printwatch.collector.console.view import PREFIX, page
from printwatch.collector.handlers.state import state_of
from printwatch.collector.users import close_session, open_session, password_hash_of, password_matches, rehash
from printwatch.web.auth.passwords import hash_password, needs_rehash
from printwatch.web.auth.sessions import network_of, same_token
from printwatch.web.templating import stylesheet

log = logging.getLogger("printwatch.collector.console")

LOGIN_COOKIE = "pwc_login"
LOGIN_PATH = PREFIX + "/login"
URLENCODED = "application/x-www-form-urlencoded"
#: Logins waiting for the one password hash (half a second each) before the next is answered
#: 503, unchecked and uncounted: a flood of guesses at made-up names (each new name is free of
#: the throttle) neither piles up tasks and connections without bound nor adds throttle rows to
#: the store faster than passwords are checked.
MAX_WAITING_LOGINS = 16


def safe_next(target: str | None) -> str:
    """Where to go after the login: a console path, else the sites."""
    if target and target.startswith(PREFIX + "/") and "\\" not in target and "//" not in target:
        return target
    return PREFIX + "/sites"


def _form(request: Request, token: str, status: int = 200, *, user: str = "", error: str = "") -> Response:
    response = page(
        request, "login.html", status, title="Log in", token=token, user=user, error=error,
        next=request.query_params.get("next", ""), inline_css=stylesheet(),
    )  # fmt: skip
    secure = console_of(request).secure
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure, path=LOGIN_PATH)
    return response


async def login_form(request: Request) -> Response:
    return _form(request, request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24))


async def login(request: Request) -> Response:
    state, console = state_of(request), console_of(request)
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != URLENCODED:
        return _form(request, token, 415, error="The login form is sent urlencoded (as the page sends it).")
    form = await request.form(max_files=0, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    user = fields.get("user", "")[:64]
    if not same_token(fields.get("csrf"), request.cookies.get(LOGIN_COOKIE, "")):
        return _form(request, token, 403, user=user, error="The form expired: log in again.")
    client = request.client.host if request.client else "?"
    # Counted per address (an IPv6 /64) and user, and per user from anywhere: a success forgives
    # only its own user's failures, so logging in to one's own account between guesses at
    # another's forgives nothing, and guesses spread over many addresses still meet the user's.
    keys = (f"{network_of(client)} {user.lower()}", f"user {user.lower()}")
    if console.hashing.statistics().tasks_waiting >= MAX_WAITING_LOGINS:
        log.warning("console: login for %r from %s refused (503): too many logins waiting", user, client)
        response = _form(request, token, 503, user=user, error="Too many logins at once: try again.")
        response.headers["retry-after"] = "5"
        return response
    wait_s = await state.db(console.throttle.reserve_all, state.store, keys, state.now())
    if wait_s > 0:
        response = _form(
            request, token, 429, user=user, error=f"Too many failed logins: try in {math.ceil(wait_s)} s."
        )
        response.headers["retry-after"] = str(math.ceil(wait_s))
        return response
    password = fields.get("password", "")[:1024]
    stored = await state.db(password_hash_of, state.store, user)
    ok = await trio.to_thread.run_sync(password_matches, password, stored, limiter=console.hashing)
    if not ok or stored is None:
        log.warning("console: failed login for %r from %s", user, client)
        return _form(request, token, 401, user=user, error="Wrong user or password.")
    await state.db(console.throttle.succeeded, state.store, keys)
    if needs_rehash(stored):
        fresh = await trio.to_thread.run_sync(hash_password, password, limiter=console.hashing)
        await state.db(rehash, state.store, user, stored, fresh)
    cookie, _csrf = await state.db(lambda: open_session(state.store, user, now=state.now()))
    log.info("console: %s logged in from %s", user, client)
    redirect = RedirectResponse(safe_next(fields.get("next")), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="strict", secure=console.secure, path="/"
    )
    redirect.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return redirect


async def logout(request: Request) -> Response:
    state = state_of(request)
    await require(request)  # a session's logout carries its CSRF token
    cookie = request.cookies.get(SESSION_COOKIE, "")
    await state.db(close_session, state.store, cookie)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

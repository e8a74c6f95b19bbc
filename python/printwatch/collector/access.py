"""Who is asking, and whether they may: the one check every console page and API handler makes.

How to use it (in a handler of the console or the API)::

    from printwatch.collector.access import require

    async def billing_page(request: Request) -> Response:
        who = await require(request, "billing")           # admin passes every check
        site = request.path_params["site"]
        require_site(who, site)                           # 404 unless the principal may see it
        where, params = who.scope_sql("r.site_id")        # or filter a list with who.may_see()
        ...

``await require(request, *roles)`` returns the :class:`~printwatch.collector.roles.Principal`
the request acts as: an API token (``Authorization: Bearer pwc_...``) or a console session (its
cookie, :data:`SESSION_COOKIE`). It raises :class:`Denied`, which the collector's app answers
(:func:`printwatch.collector.console.view.denied`): 401 without a live credential (a page: a
redirect to the login form), 403 for
a role not among ``roles`` (``admin`` is always among them; no ``roles`` at all: any role,
``customer`` included), 403 for a session's write (any method but GET and HEAD) without its
CSRF token (header ``X-CSRF-Token``, or under ``/console`` the field ``csrf`` of a urlencoded
form, whose body the console bounds before any handler reads it; a bearer token
needs none: a browser never sends one on its own). :func:`require_site` answers 404 for a site
the principal may not see, exactly as for a site that does not exist: a customer learns nothing
of another's ids by guessing.

Error handling: refusals are :class:`Denied` (never a 500); the store's own errors propagate
(the app answers 503 for an unavailable store).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from printwatch.collector.handlers.state import state_of
from printwatch.collector.roles import ROLES, Principal
from printwatch.collector.tokens import TokenExpired, check_token
from printwatch.collector.users import session_of
from printwatch.web.auth.sessions import same_token

__all__ = ["SESSION_COOKIE", "Denied", "Principal", "principal_of", "require", "require_site"]

#: The console's session cookie (HttpOnly, SameSite=Strict, Secure, path /).
SESSION_COOKIE = "pwc_session"
SAFE_METHODS = ("GET", "HEAD")
_UNKNOWN = object()


class Denied(Exception):
    """A request refused: ``status`` 401 (no live credential), 403 (not this role, or a write
    without its CSRF token) or 404 (a site or device the principal may not see)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def principal_of(request: Request) -> tuple[Principal, str | None] | None:
    """The request's principal and its session's CSRF token (None for a bearer token), or None
    without a live credential. Found once per request (kept on ``request.state``)."""
    cached: Any = getattr(request.state, "principal", _UNKNOWN)
    if cached is not _UNKNOWN:
        found: tuple[Principal, str | None] | None = cached
        return found
    state = state_of(request)
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    result: tuple[Principal, str | None] | None = None
    if scheme.lower() == "bearer" and secret.strip():
        try:
            token = await state.db(lambda: check_token(state.store, secret.strip(), now=state.now()))
        except TokenExpired as err:
            token, request.state.refused = None, str(err)
        result = None if token is None else (token, None)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        result = await state.db(lambda: session_of(state.store, cookie, now=state.now()))
    request.state.principal = result
    return result


async def require(request: Request, *roles: str) -> Principal:
    """The principal of ``request`` if it has one of ``roles`` (or is ``admin``; any role when
    none are given); else :class:`Denied` (see the module's docstring)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}: use {', '.join(ROLES)}")
    found = await principal_of(request)
    if found is None:
        expired = getattr(request.state, "refused", None)
        raise Denied(401, expired or "log in, or send an API token (Authorization: Bearer pwc_...)")
    who, csrf = found
    if roles and who.role != "admin" and who.role not in roles:
        raise Denied(403, f"the {who.role} role may not do this (it needs {' or '.join(roles)})")
    if csrf is not None and request.method not in SAFE_METHODS and not await _csrf_ok(request, csrf):
        raise Denied(403, "the form expired (no or a wrong CSRF token): load the page again")
    return who


async def _csrf_ok(request: Request, csrf: str) -> bool:
    given = request.headers.get("x-csrf-token")
    if given is None and request.url.path.startswith("/console/"):
        # a form's field: only under /console, whose bodies are bounded before a handler runs
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            form = await request.form(max_files=0, max_fields=100)
            value = form.get("csrf")
            given = value if isinstance(value, str) else None
    return same_token(given, csrf)


def require_site(who: Principal, site_id: str) -> None:
    """:class:`Denied` 404 unless ``who`` may see ``site_id`` (the same answer as for a site
    that does not exist)."""
    if not who.may_see(site_id):
        raise Denied(404, f"no site {site_id!r}")

"""A site's settings (:mod:`printwatch.collector.settings`), pushed to its appliance at its next
sync:

* ``GET /api/settings/{site}`` — the stored settings, effective upload times, version, what the
  appliance last reported applying, and the versions before (who set each, when); for staff,
  and a ``customer`` for its own sites;
* ``PUT /api/settings/{site}`` with a JSON object of changes (``null`` removes a key) — the
  ``support`` role (and ``admin``), but the billing schedule (``billing_cycle``,
  ``billing_day``: it moves the cycles' labels) is the ``billing`` role's and the collector's own
  quota (``quota_bytes_per_day``) the ``admin``'s
  (:data:`~printwatch.collector.settings.KEY_ROLES`); answers the new version.

A customer sees its sites' settings without the quota and without who changed what (the
staff's names).

Answers: ``{"error"}`` with 400 naming a refused key or a malformed body, 413 and 408 for a body
too large or too slow, 401/403 from :func:`~printwatch.collector.access.require`, 404 for a
site the principal may not see.
"""

from __future__ import annotations

import json

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import settings
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import BodyTooLarge, read_body, state_of

MAX_BODY_BYTES = 8192
NO_STORE = {"Cache-Control": "no-store"}


def _error(reason: str, status: int = 400) -> Response:
    return JSONResponse({"error": reason[:300]}, status_code=status)


async def show(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    site = request.path_params["site"]
    require_site(who, site)

    def run() -> dict[str, object]:
        con = state.store.con.cursor()
        found = settings.get(con, site)
        if who.role == "customer":
            return settings.for_customer(found)
        return {**found, "history": settings.history(con, site)}

    try:
        found = await state.db(run)
    except LookupError as err:
        return _error(str(err), 404)
    return JSONResponse(found, headers=NO_STORE)


async def change(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "support", "billing")
    site = request.path_params["site"]
    require_site(who, site)
    try:
        body = json.loads(await read_body(request, MAX_BODY_BYTES, timeout_s=state.body_timeout_s) or b"{}")
    except BodyTooLarge:
        return _error(f"a body over {MAX_BODY_BYTES} bytes", 413)
    except trio.TooSlowError:
        return _error(f"body not sent within {state.body_timeout_s:g} s", 408)
    except (ValueError, RecursionError) as err:
        return _error(f"malformed JSON: {err}")
    try:
        version = await state.db(
            lambda: settings.put(state.store, site, body, by=who.name, now=state.now(), role=who.role)
        )
    except settings.NotYours as err:
        return _error(str(err), 403)
    except settings.SettingsError as err:
        return _error(str(err))
    except LookupError as err:
        return _error(str(err), 404)
    return JSONResponse({"site": site, "version": version, "by": who.name}, headers=NO_STORE)


ROUTES = [
    Route("/api/settings/{site}", show, methods=["GET"]),
    Route("/api/settings/{site}", change, methods=["PUT", "POST"]),
]

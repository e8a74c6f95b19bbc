"""The supplies desk's API (:mod:`printwatch.collector.supplies`), for the ``supplies`` role and
those who may read (``support``, ``viewer``, a ``customer`` for its own sites):

* ``GET /api/supplies`` (``?state=new&state=ordered``, ``?site=SITE``) — the reorder queue
  across the principal's sites, as :func:`~printwatch.collector.supplies.refresh` left it
  where the data changed (after an upload, periodically in ``collector serve``): a reader only reads;
* ``GET /api/supplies.csv`` — the same as CSV;
* ``POST /api/supplies/{site}/{n}/{index}/{opened_seq}`` with ``{"state": "ordered", "note": "..."}``
  — move an order forward (``supplies`` role), recorded with the principal's name;
* ``GET /api/supplies/{site}/{n}/{index}/{opened_seq}/events`` — who changed it, when.

Answers: JSON (or CSV), ``{"error"}`` with 400 for a refused change or a malformed body, 413 and
408 for a body too large or too slow, 401/403 from :func:`~printwatch.collector.access.require`,
404 for an order or site the principal may not see.
"""

from __future__ import annotations

import json

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import supplies
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import BodyTooLarge, read_body, state_of

READERS = ("supplies", "support", "viewer", "customer")
MAX_BODY_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store"}


def _error(reason: str, status: int = 400) -> Response:
    return JSONResponse({"error": reason[:300]}, status_code=status)


async def _queue(request: Request) -> list[dict[str, object]]:
    state = state_of(request)
    who = await require(request, *READERS)
    wanted = tuple(request.query_params.getlist("state")[:4]) or supplies.STATES
    site = request.query_params.get("site")
    scope = who.scope_sql("o.site_id")

    def run() -> list[dict[str, object]]:
        return supplies.queue(state.store.con.cursor(), state.now(), scope=scope, states=wanted, site=site)

    rows: list[dict[str, object]] = await state.db(run)
    return rows


async def queue(request: Request) -> Response:
    return JSONResponse(await _queue(request), headers=NO_STORE)


async def queue_csv(request: Request) -> Response:
    rows = await _queue(request)
    headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="supplies.csv"'}
    return Response(supplies.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


def _key(request: Request) -> supplies.OrderKey | None:
    p = request.path_params
    try:
        return supplies.OrderKey(p["site"], int(p["n"]), int(p["index"]), int(p["opened_seq"]))
    except ValueError:
        return None


async def change(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "supplies")
    key = _key(request)
    if key is None:
        return _error("no such order", 404)
    require_site(who, key.site)
    try:
        body = json.loads(await read_body(request, MAX_BODY_BYTES, timeout_s=state.body_timeout_s) or b"{}")
    except BodyTooLarge:
        return _error(f"a body over {MAX_BODY_BYTES} bytes", 413)
    except trio.TooSlowError:
        return _error(f"body not sent within {state.body_timeout_s:g} s", 408)
    except (ValueError, RecursionError) as err:
        return _error(f"malformed JSON: {err}")
    if not isinstance(body, dict) or not isinstance(body.get("state"), str):
        return _error('the body is {"state": "ordered", "note": "..."}')
    note, wanted = body.get("note"), body["state"]
    if note is not None and not isinstance(note, str):
        return _error("note: text")
    try:
        await state.db(
            lambda: supplies.set_state(state.store, key, wanted, by=who.name, now=state.now(), note=note)
        )
    except supplies.SupplyError as err:
        return _error(str(err))
    except LookupError:
        return _error("no such order", 404)
    found = await state.db(lambda: supplies.events(state.store.con.cursor(), key))
    return JSONResponse({"state": wanted, "events": found}, headers=NO_STORE)


async def events(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    key = _key(request)
    if key is None:
        return _error("no such order", 404)
    require_site(who, key.site)
    found = await state.db(lambda: supplies.events(state.store.con.cursor(), key))
    if not found:
        return _error("no such order", 404)
    return JSONResponse(found, headers=NO_STORE)


ROUTES = [
    Route("/api/supplies", queue),
    Route("/api/supplies.csv", queue_csv),
    Route("/api/supplies/{site}/{n}/{index}/{opened_seq}", change, methods=["POST"]),
    Route("/api/supplies/{site}/{n}/{index}/{opened_seq}/events", events),
]

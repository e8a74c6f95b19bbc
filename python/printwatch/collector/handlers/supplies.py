"""The supplies desk's API (:mod:`printwatch.collector.supplies`), for the ``supplies`` role and
those who may read (``support``, ``viewer``, a ``customer`` for its own sites):

* ``GET /api/supplies`` (``?state=new&state=ordered``, ``?site=SITE``) — the reorder queue
  across the principal's sites, as :func:`~printwatch.collector.supplies.refresh` left it
  where the data changed (after an upload, periodically in ``collector serve``): a reader only reads;
  a page at a time: ``?limit=`` (200 by default, 10,000 at most) and ``?offset=`` (100,000 at
  most), ``X-Total-Count`` and ``Link: <...>; rel="next"`` in the answer's headers;
* ``GET /api/supplies.csv`` — the whole queue (10,000 orders at most) as CSV, streamed a page of
  1,000 at a time;
* ``POST /api/supplies/{site}/{n}/{index}/{opened_seq}`` with ``{"state": "ordered", "note": "..."}``
  — move an order forward (``supplies`` role), recorded with the principal's name;
* ``GET /api/supplies/{site}/{n}/{index}/{opened_seq}/events`` — who changed it, when.

Answers: JSON (or CSV), ``{"error"}`` with 400 for a refused change or a malformed body, 413 and
408 for a body too large or too slow, 401/403 from :func:`~printwatch.collector.access.require`,
404 for an order or site the principal may not see.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from printwatch.collector import supplies
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import BodyTooLarge, read_body, state_of

READERS = ("supplies", "support", "viewer", "customer")
MAX_BODY_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store"}


def _error(reason: str, status: int = 400) -> Response:
    return JSONResponse({"error": reason[:300]}, status_code=status)


def paging(request: Request, default: int, top: int) -> tuple[int, int]:
    """``?limit=`` (cut to ``top``) and ``?offset=`` (at most :data:`supplies.MAX_OFFSET`):
    :class:`ValueError` for anything but a whole number or an offset beyond."""
    found = []
    for name, fallback in (("limit", default), ("offset", 0)):
        text = request.query_params.get(name)
        if text is None:
            found.append(fallback)
            continue
        if not text.isdigit() or len(text) > 12:
            raise ValueError(f"{name}: a whole number from 0")
        found.append(int(text))
    limit, offset = found
    if offset > supplies.MAX_OFFSET:
        raise ValueError(f"offset: at most {supplies.MAX_OFFSET} (filter by ?state= or ?site= instead)")
    return min(limit, top), offset


def _filters(request: Request) -> dict[str, Any]:
    return {
        "states": tuple(request.query_params.getlist("state")[:4]) or supplies.STATES,
        "site": request.query_params.get("site"),
    }


async def queue(request: Request) -> Response:
    """A page of the queue (``?limit=``, :data:`supplies.PAGE` by default, cut to
    :data:`supplies.MAX_ORDERS`; ``?offset=``), ``X-Total-Count`` and a ``Link`` to the next."""
    state = state_of(request)
    who = await require(request, *READERS)
    try:
        limit, offset = paging(request, supplies.PAGE, supplies.MAX_ORDERS)
    except ValueError as err:
        return _error(str(err))
    scope, filters = who.scope_sql("o.site_id"), _filters(request)

    def run() -> tuple[list[dict[str, object]], int]:
        cur = state.store.con.cursor()
        rows = supplies.queue(cur, state.now(), scope=scope, limit=limit, offset=offset, **filters)
        return rows, supplies.count(cur, scope=scope, **filters)

    rows, total = await state.db(run)
    headers = {**NO_STORE, "X-Total-Count": str(total)}
    if offset + limit < total and offset + limit <= supplies.MAX_OFFSET:
        following = request.url.include_query_params(limit=limit, offset=offset + limit)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return JSONResponse(rows, headers=headers)


#: The CSV export's pages (each one query on the store's thread, so that uploads pass between).
CSV_PAGE = 1000


async def _fetch_into(into: list[Any], fetch: Callable[..., Awaitable[Any]], *args: Any) -> None:
    into.append(await fetch(*args))


async def queue_csv(request: Request) -> Response:
    """The whole queue (:data:`supplies.MAX_ORDERS` at most) as CSV, streamed a page at a time:
    never all of it in memory at once."""
    state = state_of(request)
    who = await require(request, *READERS)
    scope, filters = who.scope_sql("o.site_id"), _filters(request)

    def rows(after: supplies.QueueKey | None, limit: int) -> tuple[list[Any], supplies.QueueKey | None]:
        return supplies.csv_rows(state.store.con.cursor(), scope=scope, limit=limit, after=after, **filters)

    now = state.now()
    first = await state.db(rows, None, CSV_PAGE)  # errors (the store away) before the 200 is sent

    async def lines() -> AsyncIterator[str]:
        found, after = first
        sent, header = len(found), True
        while True:
            following: list[tuple[list[Any], supplies.QueueKey | None]] = []
            async with trio.open_nursery() as nursery:
                if len(found) == CSV_PAGE and sent < supplies.MAX_ORDERS:
                    # The next page starts after the last order's key (the queue's index), not at
                    # an offset; the store makes it while this page is written, on another thread.
                    limit = min(CSV_PAGE, supplies.MAX_ORDERS - sent)
                    nursery.start_soon(_fetch_into, following, state.db, rows, after, limit)
                text = await trio.to_thread.run_sync(supplies.csv_lines, found, now, header)
            yield text
            if not following:
                return
            (found, after), header = following[0], False
            sent += len(found)

    headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="supplies.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


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

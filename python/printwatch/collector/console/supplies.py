"""``/console/supplies``: the reorder queue across the principal's sites (``?state=...``), a page
of 200 orders at a time (``?offset=``; how many there are, links to the next and previous), each
order's next states as a form for the supplies role (with a note). ``/console/supplies.json`` is
the API's page of the queue (``GET /api/supplies``: the same ``?state=``, ``?offset=``,
``X-Total-Count`` and ``Link``) and ``/console/supplies.csv`` its CSV export of the whole queue
(``GET /api/supplies.csv``), answered by the API's own handlers
(:mod:`printwatch.collector.handlers.supplies`), its role check included."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.collector import supplies
from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console.view import PREFIX, page, split_kind
from printwatch.collector.handlers import supplies as api
from printwatch.collector.handlers.state import state_of

ACTIVE = PREFIX + "/supplies"


async def supplies_page(request: Request) -> Response:
    """A page of the queue (:data:`supplies.PAGE` orders from ``?offset=``), how many there are
    and links to the pages before and after; the JSON and the CSV are the API's."""
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    if kind == "json":
        return await api.queue(request)
    if kind == "csv":
        return await api.queue_csv(request)
    state = state_of(request)
    who = await require(request, *api.READERS)
    wanted = tuple(s for s in request.query_params.getlist("state")[:4] if s in supplies.STATES)
    try:
        limit, offset = api.paging(request, supplies.PAGE, supplies.PAGE)
    except ValueError as err:
        raise Denied(400, str(err)) from None
    scope = who.scope_sql("o.site_id")

    def gather() -> tuple[list[dict[str, object]], int]:
        cur = state.store.con.cursor()
        states = wanted or supplies.STATES
        found = supplies.queue(cur, state.now(), scope=scope, states=states, limit=limit, offset=offset)
        return found, supplies.count(cur, scope=scope, states=states)

    rows, total = await state.db(gather)
    may_move = who.role in ("supplies", "admin")

    def link(at: int) -> str:
        return f"{ACTIVE}?{urlencode([*(('state', s) for s in wanted), ('offset', at)])}"

    following = offset + limit
    return page(
        request, "supplies.html", title="Supplies", active=ACTIVE, rows=rows, states=supplies.STATES,
        wanted=wanted, may_move=may_move, total=total, first=offset + 1 if rows else 0,
        last=offset + len(rows), previous=link(max(0, offset - limit)) if offset else None,
        following=link(following) if following < total and following <= supplies.MAX_OFFSET else None,
    )  # fmt: skip


async def supplies_move(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "supplies")
    p = request.path_params
    try:
        key = supplies.OrderKey(p["site"], int(p["n"]), int(p["index"]), int(p["opened_seq"]))
    except ValueError:
        raise Denied(404, "no such order") from None
    require_site(who, key.site)
    form = await request.form(max_files=0, max_fields=10)
    wanted, note = form.get("state"), form.get("note")
    if not isinstance(wanted, str) or (note is not None and not isinstance(note, str)):
        raise Denied(400, "the form needs a state")
    try:
        now = state.now()
        await state.db(
            lambda: supplies.set_state(state.store, key, wanted, by=who.name, now=now, note=note or None)
        )
    except supplies.SupplyError as err:
        raise Denied(400, str(err)) from None
    except LookupError:
        raise Denied(404, "no such order") from None
    return RedirectResponse(ACTIVE, status_code=303)

"""``/console/supplies``: the reorder queue across the principal's sites (``?state=...``), each
order's next states as a form for the supplies role (with a note), and the CSV download (the
API's, :mod:`printwatch.collector.handlers.supplies`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.collector import supplies
from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console.view import PREFIX, page
from printwatch.collector.handlers.state import state_of

READERS = ("supplies", "support", "viewer", "customer")
ACTIVE = PREFIX + "/supplies"


async def supplies_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    wanted = tuple(s for s in request.query_params.getlist("state")[:4] if s in supplies.STATES)
    scope = who.scope_sql("o.site_id")

    def gather() -> list[dict[str, object]]:
        return supplies.queue(
            state.store.con.cursor(), state.now(), scope=scope, states=wanted or supplies.STATES
        )

    rows = await state.db(gather)
    may_move = who.role in ("supplies", "admin")
    return page(
        request, "supplies.html", title="Supplies", active=ACTIVE, rows=rows, states=supplies.STATES,
        wanted=wanted, may_move=may_move,
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

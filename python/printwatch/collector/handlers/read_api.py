"""``GET /api/{sites,devices,reads,counters,reorders,missing}[?site=SITE][&limit=N&offset=K]``: the
read-only view as JSON, a page at a time (``limit`` rows, devices for ``reads`` and ``counters``:
:data:`~printwatch.collector.views.PAGE` (``PAGE_DEVICES``) by default, cut to
:data:`~printwatch.collector.views.MAX_PAGE`; ``offset`` up to
:data:`~printwatch.collector.views.MAX_OFFSET`, beyond: 400; ``X-Total-Count`` says how many there
are, ``Link: <...>; rel="next"`` where the next page is), for any API token or console session
(:func:`~printwatch.collector.access.require`): staff see every site, a customer its own sites only
(another site, named or not, is a 404, as a site that does not exist); 401 without a live
credential; 404 for a view that does not exist."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import views
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import state_of


def _number(request: Request, name: str, default: int, top: int) -> int:
    """A paging parameter: a whole number from 0, ``top`` at most (a larger ``limit`` is cut to
    the cap; an ``offset`` beyond it is refused: :class:`ValueError`)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 12:
        raise ValueError(f"{name}: a whole number from 0")
    value = int(text)
    if name == "offset" and value > top:
        raise ValueError(f"offset: at most {top} (narrow by ?site= instead)")
    return min(value, top)


async def read_view(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    name = request.path_params["view"]
    if name not in views.VIEWS:
        return JSONResponse({"error": f"no view {name!r} (one of {', '.join(views.VIEWS)})"}, status_code=404)
    site = request.query_params.get("site")
    if site is not None:
        require_site(who, site)
    try:
        default = views.PAGE_DEVICES if name in views.BY_DEVICE else views.PAGE
        limit = _number(request, "limit", default, views.MAX_PAGE)
        offset = _number(request, "offset", 0, views.MAX_OFFSET)
    except ValueError as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    wanted: views.Sites = site
    if site is None and who.sites is not None:
        wanted = sorted(who.sites)

    def rows() -> tuple[list[dict[str, Any]], int]:
        cur, now = state.store.con.cursor(), state.now()
        found = views.view(cur, name, wanted, now=now, limit=limit, offset=offset)
        return found, views.count(cur, name, wanted, now=now)

    found, total = await state.db(rows)
    # The page says how many there are and where the next one is.
    headers = {"Cache-Control": "no-store", "X-Total-Count": str(total)}
    if offset + limit < total and offset + limit <= views.MAX_OFFSET:
        following = request.url.include_query_params(limit=limit, offset=offset + limit)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return JSONResponse(found, headers=headers)

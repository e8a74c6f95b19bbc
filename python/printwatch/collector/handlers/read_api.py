"""``GET /api/{sites,devices,reads,counters,reorders,missing}[?site=SITE]``: the read-only view
as JSON, for any API token or console session (:func:`~printwatch.collector.access.require`):
staff see every site, a customer its own sites only (another site, named or not, is a 404,
as a site that does not exist); 401 without a live credential; 404 for a view that does not
exist."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import views
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import state_of


async def read_view(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    name = request.path_params["view"]
    if name not in views.VIEWS:
        return JSONResponse({"error": f"no view {name!r} (one of {', '.join(views.VIEWS)})"}, status_code=404)
    site = request.query_params.get("site")
    if site is not None:
        require_site(who, site)
    wanted: list[str | None] = [site]
    if site is None and who.sites is not None:
        wanted = [*sorted(who.sites)]

    def rows() -> list[dict[str, Any]]:
        cur = state.store.con.cursor()
        return [row for s in wanted for row in views.view(cur, name, s, now=state.now())]

    return JSONResponse(await state.db(rows), headers={"Cache-Control": "no-store"})

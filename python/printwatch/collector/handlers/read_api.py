"""``GET /api/{sites,devices,reads,reorders,missing}[?site=SITE]``: the read-only view as JSON,
for an API token with the ``read`` scope (``Authorization: Bearer pwc_...``), else 401; 404 for
a view that does not exist."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import views
from printwatch.collector.handlers.state import state_of
from printwatch.collector.tokens import check_token

NO_TOKEN = "an API token with the 'read' scope is required (collector token add)"


async def read_view(request: Request) -> Response:
    state = state_of(request)
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    who = None
    if scheme.lower() == "bearer" and secret:
        who = await state.db(lambda: check_token(state.store, secret.strip(), "read", now=state.now()))
    if who is None:
        return JSONResponse(
            {"error": NO_TOKEN},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="printwatch collector"'},
        )
    name = request.path_params["view"]
    if name not in views.VIEWS:
        return JSONResponse({"error": f"no view {name!r} (one of {', '.join(views.VIEWS)})"}, status_code=404)
    site = request.query_params.get("site")
    rows = await state.db(lambda: views.view(state.store.con.cursor(), name, site, now=state.now()))
    return JSONResponse(rows, headers={"Cache-Control": "no-store"})

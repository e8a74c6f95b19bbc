"""``/console/enrolment`` (admin): every site's enrolment (its key, whether a token is open and
until when; ``.json``, ``.csv``), and its forms: add a site (its one-time token shown once),
issue a new token for a site (to replace its appliance: the new appliance enrols with it and
its devices are numbered under its own key), revoke a site's open token. The forms post with
the session's CSRF token; an admin API token may post them too (a JSON answer).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import admin
from printwatch.collector.access import require
from printwatch.collector.console.view import PREFIX, page, split_kind, table_answer
from printwatch.collector.handlers.state import state_of

COLUMNS = (
    "site_id",
    "name",
    "contact",
    "enrolled_at",
    "key_id",
    "last_seq",
    "token_open",
    "token_expires_at",
)
ACTIVE = PREFIX + "/enrolment"


def _sites(state: Any) -> list[dict[str, Any]]:
    cur = state.store.con.execute(
        "SELECT site_id, name, contact, enrolled_at, key_id, last_seq, token_hash IS NOT NULL AS token_open, "
        "token_expires_at FROM sites ORDER BY site_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


async def enrolment_page(request: Request) -> Response:
    state = state_of(request)
    await require(request, "admin")
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    rows = await state.db(_sites, state)
    return table_answer(
        request, kind, "enrolment", COLUMNS, rows, "enrolment.html", title="Enrolment", active=ACTIVE
    )


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            return {}  # refused by the operation: no site_id
        if not isinstance(body, dict):
            return {}
        return {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | float)}
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def enrolment_action(request: Request) -> Response:
    """``POST /console/enrolment/{action}``: ``add`` (fields site_id, name, contact,
    valid_days), ``token`` (site_id, valid_days), ``revoke`` (site_id)."""
    state = state_of(request)
    await require(request, "admin")
    action = request.path_params["action"]
    op = {"add": "site.add", "token": "site.token", "revoke": "site.revoke_token"}.get(action)
    fields = await _form(request)
    params: dict[str, Any] = {"site_id": str(fields.get("site_id", ""))}
    if action == "add":
        params |= {k: str(fields[k]) for k in ("name", "contact") if fields.get(k)}
    if action in ("add", "token"):
        try:
            params["valid_days"] = float(fields.get("valid_days") or 14)
        except ValueError:
            params["valid_days"] = -1.0  # refused by the operation, with its reason
    as_json = "authorization" in request.headers
    if op is None:
        error, result = f"no enrolment action {action!r}", None
    else:
        try:
            result = await state.db(lambda: admin.run(state.store, op, params, now=state.now()))
            error = ""
        except ValueError as err:
            error, result = str(err), None
    if as_json:
        return JSONResponse(
            result if result is not None else {"error": error}, status_code=200 if result else 400
        )
    rows = await state.db(_sites, state)
    return page(
        request, "enrolment.html", 200 if result is not None else 400, title="Enrolment", active=ACTIVE,
        rows=rows, columns=COLUMNS, error=error, done=action if result else "", result=result or {},
    )  # fmt: skip

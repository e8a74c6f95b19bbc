"""``/console/access`` (admin): the console's users and the API tokens (``.json``: both lists),
and their forms: add a user (its password typed twice), remove one (its sessions end), add an
API token (shown once), revoke one. The same operations as ``collector user ...`` and
``collector token ...`` (:mod:`printwatch.collector.admin`); a password is hashed in a worker
thread, never in the store's."""

from __future__ import annotations

from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import admin
from printwatch.collector.access import require
from printwatch.collector.console.state import console_of
from printwatch.collector.console.view import PREFIX, page, split_kind
from printwatch.collector.handlers.state import state_of
from printwatch.collector.roles import ROLES
from printwatch.web.auth.passwords import hash_password, password_problem

ACTIVE = PREFIX + "/access"
#: ``action``: (the operation, the form's fields it takes)
ACTIONS = {
    "user-add": ("user.add", ("username", "role", "sites", "password")),
    "user-remove": ("user.remove", ("username",)),
    "token-add": ("token.add", ("name", "role", "sites", "expires_days")),
    "token-revoke": ("token.revoke", ("token_id",)),
}


def _lists(state: Any) -> dict[str, Any]:
    now = state.now()
    return {
        "users": admin.run(state.store, "user.list", {}, now=now)["users"],
        "tokens": admin.run(state.store, "token.list", {}, now=now)["tokens"],
    }


async def access_page(request: Request) -> Response:
    state = state_of(request)
    await require(request, "admin")
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    lists = await state.db(_lists, state)
    if kind == "json":
        return JSONResponse(lists, headers={"cache-control": "no-store"})
    return page(
        request, "access.html", title="Access", active=ACTIVE, roles=ROLES, error="", issued=None, **lists
    )


def _params(fields: dict[str, str], wanted: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {k: fields.get(k, "") for k in wanted if k != "sites"}
    if "sites" in wanted:
        params["sites"] = [s.strip() for s in fields.get("sites", "").split(",") if s.strip()]
    return params


async def access_action(request: Request) -> Response:
    """``POST /console/access/{action}`` (a form with the session's CSRF token)."""
    state = state_of(request)
    await require(request, "admin")
    form = await request.form(max_files=0, max_fields=20)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    op, wanted = ACTIONS.get(request.path_params["action"], ("", ()))
    params, error, issued = _params(fields, wanted), "", None
    if not op:
        error = "no such action"
    elif op == "user.add" and fields.get("password") != fields.get("again"):
        error = "the two passwords differ"
    elif op == "user.add" and (problem := password_problem(fields.get("password", ""))):
        error = problem
    if not error:
        if op == "user.add":
            params["password_hash"] = await trio.to_thread.run_sync(
                hash_password, params["password"], limiter=console_of(request).hashing
            )
        try:
            result = await state.db(lambda: admin.run(state.store, op, params, now=state.now()))
            issued = result if op == "token.add" else None
        except ValueError as err:
            error = str(err)
    lists = await state.db(_lists, state)
    return page(
        request, "access.html", 400 if error else 200, title="Access", active=ACTIVE, roles=ROLES,
        error=error, issued=issued, **lists,
    )  # fmt: skip

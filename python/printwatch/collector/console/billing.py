"""``/console/billing`` (the sites with their current cycle, 200 a page; ``.json``, ``.csv``),
``/console/billing/{site}`` (its cycles; ``.json``, ``.csv``) and
``/console/billing/{site}/{cycle}`` (every device's read with its evidence, the missing ones
highlighted, the late ones apart; close or reopen for the billing role; the ERP export's links;
``.json``: the API's cycle, ``.csv``: the ERP export). The data and its rules are
:mod:`printwatch.collector.billing`'s; who may read, the loading of the cycles and of a cycle, the
export and a close or reopen are the JSON API's (:mod:`printwatch.collector.handlers.billing`):
a page only shapes the answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from printwatch.collector import billing
from printwatch.collector.access import Denied, require
from printwatch.collector.console.view import PREFIX, offset_of, page, split_kind, table_answer
from printwatch.collector.handlers import billing as api
from printwatch.collector.handlers.state import state_of

ACTIVE = PREFIX + "/billing"
#: The overview's and a site's cycles' columns (JSON and CSV), as billing.cycles names them.
COLUMNS = (
    "site", "cycle", "schedule", "current", "devices", "read", "missing", "late", "closed_at", "closed_by",
)  # fmt: skip


async def billing_sites(request: Request) -> Response:
    """Each site's current cycle, a page of sites at a time (``?offset=``): how many, the next."""
    state = state_of(request)
    who = await require(request, *api.READERS)
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    offset = offset_of(request)
    if offset > billing.MAX_OFFSET:
        raise Denied(400, f"offset: at most {billing.MAX_OFFSET}")
    scope, now = who.scope_sql("site_id"), state.now()
    rows, total = await state.db(
        lambda: billing.current_cycles(state.store.con.cursor(), now, scope=scope, offset=offset)
    )
    return table_answer(
        request, kind, "billing", COLUMNS, rows, "billing.html", title="Billing", active=ACTIVE,
        total=total, offset=offset, limit=billing.PAGE_SITES,
    )  # fmt: skip


async def billing_site(request: Request) -> Response:
    site, kind = split_kind(request.path_params["site"])
    await api.reader(request, site)
    rows = await api.load_cycles(request, site)
    return table_answer(
        request, kind, f"billing-{site}", COLUMNS, rows, "billing_site.html", title=f"Billing of {site}",
        active=ACTIVE, site=site,
    )  # fmt: skip


async def billing_cycle(request: Request) -> Response:
    site = request.path_params["site"]
    label, kind = split_kind(request.path_params["cycle"])
    who = await api.reader(request, site)
    if kind == "csv":  # the cycle's table as the ERP imports it
        return await api.export_answer(request, site, label, "csv")
    found = await api.load_cycle(request, site, label)
    if kind == "json":
        return JSONResponse(found, headers={"cache-control": "no-store"})
    may_close = who.role in ("billing", "admin")
    return page(
        request, "billing_cycle.html", title=f"Billing of {site}, cycle {label}", active=ACTIVE,
        cycle=found, may_close=may_close,
    )  # fmt: skip


async def billing_action(request: Request) -> Response:
    site, label, action = (request.path_params[k] for k in ("site", "cycle", "action"))
    await api.act(request, site, label, action)
    return RedirectResponse(f"{ACTIVE}/{site}/{label}", status_code=303)

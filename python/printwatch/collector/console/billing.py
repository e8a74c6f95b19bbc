"""``/console/billing`` (the sites with their current cycle), ``/console/billing/{site}`` (its
cycles) and ``/console/billing/{site}/{cycle}`` (every device's read with its evidence, the
missing ones highlighted, the late ones apart; close or reopen for the billing role; the ERP
export's links). The data and its rules are :mod:`printwatch.collector.billing`'s; the JSON API
is :mod:`printwatch.collector.handlers.billing`'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.collector import billing
from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console.view import PREFIX, page
from printwatch.collector.handlers.state import state_of
from printwatch.collector.handlers.supplies import paging

READERS = ("billing", "support", "viewer", "customer")
ACTIVE = PREFIX + "/billing"


async def billing_sites(request: Request) -> Response:
    """Each site's current cycle, a page of sites at a time (``?offset=``): how many, the next."""
    state = state_of(request)
    who = await require(request, *READERS)
    scope = who.scope_sql("site_id")
    try:
        _, offset = paging(request, billing.PAGE_SITES, billing.PAGE_SITES)
    except ValueError as err:
        raise Denied(400, str(err)) from None
    if offset > billing.MAX_OFFSET:
        raise Denied(400, f"offset: at most {billing.MAX_OFFSET}")
    now = state.now()
    rows, total = await state.db(
        lambda: billing.current_cycles(state.store.con.cursor(), now, scope=scope, offset=offset)
    )
    following = offset + billing.PAGE_SITES
    return page(
        request, "billing.html", title="Billing", active=ACTIVE, rows=rows, total=total,
        first=offset + 1 if rows else 0, last=offset + len(rows),
        previous=f"{ACTIVE}?offset={max(0, offset - billing.PAGE_SITES)}" if offset else None,
        following=f"{ACTIVE}?offset={following}" if following < total else None,
    )  # fmt: skip


async def billing_site(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    site = request.path_params["site"]
    require_site(who, site)
    try:
        rows = await state.db(lambda: billing.cycles(state.store.con.cursor(), site, state.now()))
    except LookupError as err:
        raise Denied(404, str(err)) from None
    return page(request, "billing_site.html", title=f"Billing of {site}", active=ACTIVE, site=site, rows=rows)


async def billing_cycle(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    site, label = request.path_params["site"], request.path_params["cycle"]
    require_site(who, site)
    try:
        found = await state.db(lambda: billing.cycle_reads(state.store.con.cursor(), site, label))
    except billing.BillingError as err:
        raise Denied(404, str(err)) from None
    except LookupError as err:
        raise Denied(404, str(err)) from None
    may_close = who.role in ("billing", "admin")
    return page(
        request, "billing_cycle.html", title=f"Billing of {site}, cycle {label}", active=ACTIVE,
        cycle=found, may_close=may_close,
    )  # fmt: skip


async def billing_action(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "billing")
    site, label, action = (request.path_params[k] for k in ("site", "cycle", "action"))
    require_site(who, site)
    if action not in ("close", "reopen"):
        raise Denied(404, f"no action {action[:40]!r}")
    try:
        if action == "close":
            now = state.now()
            await state.db(lambda: billing.close(state.store, site, label, by=who.name, now=now))
        else:
            await state.db(lambda: billing.reopen(state.store, site, label))
    except billing.BillingError as err:
        raise Denied(400, str(err)) from None
    except LookupError as err:
        raise Denied(404, str(err)) from None
    return RedirectResponse(f"{ACTIVE}/{site}/{label}", status_code=303)

"""The billing API (:mod:`printwatch.collector.billing`), for the ``billing`` role and those who
may read (``support``, ``viewer``, and a ``customer`` for its own sites):

* ``GET /api/billing/{site}/cycles`` — the site's cycles with their counts;
* ``GET /api/billing/{site}/{cycle}`` — every device's read with its evidence, missing, late;
* ``GET /api/billing/{site}/{cycle}/export.csv`` and ``export.json`` (``?unmapped=1``: meters
  without an ERP name too) — the ERP's layout (docs/collector.md);
* ``POST /api/billing/{site}/{cycle}/close`` and ``.../reopen`` — the ``billing`` role only.

Answers: JSON (or CSV), ``{"error"}`` with 400 for a label that is not a cycle's or a refused
close, 401/403 from :func:`~printwatch.collector.access.require`, 404 for a site the principal
may not see (as for one that does not exist).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import billing
from printwatch.collector.access import require, require_site
from printwatch.collector.handlers.state import state_of

READERS = ("billing", "support", "viewer", "customer")
NO_STORE = {"Cache-Control": "no-store"}


def _error(err: Exception, status: int = 400) -> Response:
    return JSONResponse({"error": str(err)[:300]}, status_code=status)


async def cycles(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    site = request.path_params["site"]
    require_site(who, site)
    try:
        rows = await state.db(lambda: billing.cycles(state.store.con.cursor(), site, state.now()))
    except LookupError as err:
        return _error(err, 404)
    return JSONResponse(rows, headers=NO_STORE)


async def cycle(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    site, label = request.path_params["site"], request.path_params["cycle"]
    require_site(who, site)
    try:
        found = await state.db(lambda: billing.cycle_reads(state.store.con.cursor(), site, label))
    except billing.BillingError as err:
        return _error(err)
    except LookupError as err:
        return _error(err, 404)
    return JSONResponse(found, headers=NO_STORE)


async def export(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, *READERS)
    site, label, kind = (request.path_params[k] for k in ("site", "cycle", "kind"))
    require_site(who, site)
    if kind not in ("csv", "json"):
        return _error(ValueError(f"no export .{kind[:20]} (export.csv or export.json)"), 404)
    unmapped = request.query_params.get("unmapped") in ("1", "true", "yes")
    try:
        rows = await state.db(
            lambda: billing.export(state.store.con.cursor(), site, label, unmapped=unmapped)
        )
    except billing.BillingError as err:
        return _error(err)
    except LookupError as err:
        return _error(err, 404)
    name = f"billing-{site}-{label}.{kind}".replace('"', "")
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return Response(billing.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(billing.to_json(rows), media_type="application/json", headers=headers)


async def close_or_reopen(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "billing")
    site, label, action = (request.path_params[k] for k in ("site", "cycle", "action"))
    require_site(who, site)
    if action not in ("close", "reopen"):
        return _error(ValueError(f"no action {action[:40]!r} (close or reopen)"), 404)
    try:
        if action == "close":
            seq = await state.db(
                lambda: billing.close(state.store, site, label, by=who.name, now=state.now())
            )
            return JSONResponse({"site": site, "cycle": label, "closed_by": who.name, "closed_seq": seq})
        await state.db(lambda: billing.reopen(state.store, site, label))
    except billing.BillingError as err:
        return _error(err)
    except LookupError as err:
        return _error(err, 404)
    return JSONResponse({"site": site, "cycle": label, "reopened_by": who.name})


ROUTES = [
    Route("/api/billing/{site}/cycles", cycles),
    Route("/api/billing/{site}/{cycle}/export.{kind:str}", export),
    Route("/api/billing/{site}/{cycle}/{action:str}", close_or_reopen, methods=["POST"]),
    Route("/api/billing/{site}/{cycle}", cycle),
]

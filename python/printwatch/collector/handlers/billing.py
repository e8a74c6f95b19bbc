"""The billing API (:mod:`printwatch.collector.billing`), for the ``billing`` role and those who
may read (``support``, ``viewer``, and a ``customer`` for its own sites):

* ``GET /api/billing/{site}/cycles`` — the site's cycles with their counts;
* ``GET /api/billing/{site}/{cycle}`` — every device's read with its evidence, missing, late;
* ``GET /api/billing/{site}/{cycle}/export.csv`` and ``export.json`` (``?unmapped=1``: meters
  without an ERP name too) — the ERP's layout (docs/collector.md);
* ``POST /api/billing/{site}/{cycle}/close`` and ``.../reopen`` — the ``billing`` role only.

The console's billing pages (:mod:`printwatch.collector.console.billing`) ask the same
functions here for who may read, the cycles, a cycle, its export and a close or reopen
(:func:`reader`, :func:`load_cycles`, :func:`load_cycle`, :func:`export_answer`, :func:`act`):
one place checks access and loads a cycle, the API and the pages only shape the answer.

Answers: JSON (or CSV), ``{"error"}`` with 400 for a label that is not a cycle's or a refused
close, 401/403 from :func:`~printwatch.collector.access.require`, 404 for a site the principal
may not see (as for one that does not exist). Refusals are
:class:`~printwatch.collector.access.Denied`, answered by the app (a page for the console).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import billing
from printwatch.collector.access import Denied, Principal, require, require_site
from printwatch.collector.handlers.state import state_of

READERS = ("billing", "support", "viewer", "customer")
NO_STORE = {"Cache-Control": "no-store"}
ACTIONS = ("close", "reopen")


def _denied(err: Exception, status: int) -> Denied:
    return Denied(status, str(err)[:300])


async def reader(request: Request, site: str) -> Principal:
    """The principal if it may read ``site``'s billing; else :class:`Denied` (401, 403, 404)."""
    who = await require(request, *READERS)
    require_site(who, site)
    return who


async def load_cycles(request: Request, site: str) -> list[dict[str, Any]]:
    """``site``'s cycles (:func:`printwatch.collector.billing.cycles`); :class:`Denied` 404 for
    a site that does not exist."""
    state = state_of(request)
    try:
        found: list[dict[str, Any]] = await state.db(
            lambda: billing.cycles(state.store.con.cursor(), site, state.now())
        )
    except LookupError as err:
        raise _denied(err, 404) from None
    return found


async def load_cycle(request: Request, site: str, label: str) -> dict[str, Any]:
    """Every device's read of cycle ``label`` with its evidence
    (:func:`printwatch.collector.billing.cycle_reads`); :class:`Denied` 400 for a label that is
    not a cycle's, 404 for a site that does not exist."""
    state = state_of(request)
    try:
        found: dict[str, Any] = await state.db(
            lambda: billing.cycle_reads(state.store.con.cursor(), site, label)
        )
    except billing.BillingError as err:
        raise _denied(err, 400) from None
    except LookupError as err:
        raise _denied(err, 404) from None
    return found


async def export_answer(request: Request, site: str, label: str, kind: str) -> Response:
    """The ERP export of cycle ``label`` as ``kind`` (``csv`` or ``json``; ``?unmapped=1``:
    meters without an ERP name too), a download."""
    state = state_of(request)
    if kind not in ("csv", "json"):
        raise Denied(404, f"no export .{kind[:20]} (export.csv or export.json)")
    unmapped = request.query_params.get("unmapped") in ("1", "true", "yes")
    try:
        rows = await state.db(
            lambda: billing.export(state.store.con.cursor(), site, label, unmapped=unmapped)
        )
    except billing.BillingError as err:
        raise _denied(err, 400) from None
    except LookupError as err:
        raise _denied(err, 404) from None
    name = f"billing-{site}-{label}.{kind}".replace('"', "")
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return Response(billing.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(billing.to_json(rows), media_type="application/json", headers=headers)


async def act(request: Request, site: str, label: str, action: str) -> tuple[Principal, int | None]:
    """Close or reopen cycle ``label`` of ``site`` (the ``billing`` role): the principal and,
    for a close, the sequence number the cycle is frozen at; :class:`Denied` 404 for another
    action or an unknown site, 400 for a refused one."""
    state = state_of(request)
    who = await require(request, "billing")
    require_site(who, site)
    if action not in ACTIONS:
        raise Denied(404, f"no action {action[:40]!r} (close or reopen)")
    try:
        if action == "close":
            now = state.now()
            seq = await state.db(lambda: billing.close(state.store, site, label, by=who.name, now=now))
            return who, seq
        await state.db(lambda: billing.reopen(state.store, site, label))
    except billing.BillingError as err:
        raise _denied(err, 400) from None
    except LookupError as err:
        raise _denied(err, 404) from None
    return who, None


async def cycles(request: Request) -> Response:
    site = request.path_params["site"]
    await reader(request, site)
    return JSONResponse(await load_cycles(request, site), headers=NO_STORE)


async def cycle(request: Request) -> Response:
    site, label = request.path_params["site"], request.path_params["cycle"]
    await reader(request, site)
    return JSONResponse(await load_cycle(request, site, label), headers=NO_STORE)


async def export(request: Request) -> Response:
    site, label, kind = (request.path_params[k] for k in ("site", "cycle", "kind"))
    await reader(request, site)
    return await export_answer(request, site, label, kind)


async def close_or_reopen(request: Request) -> Response:
    site, label, action = (request.path_params[k] for k in ("site", "cycle", "action"))
    who, seq = await act(request, site, label, action)
    if action == "close":
        return JSONResponse({"site": site, "cycle": label, "closed_by": who.name, "closed_seq": seq})
    return JSONResponse({"site": site, "cycle": label, "reopened_by": who.name})


ROUTES = [
    Route("/api/billing/{site}/cycles", cycles),
    Route("/api/billing/{site}/{cycle}/export.{kind:str}", export),
    Route("/api/billing/{site}/{cycle}/{action:str}", close_or_reopen, methods=["POST"]),
    Route("/api/billing/{site}/{cycle}", cycle),
]

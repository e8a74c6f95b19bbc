"""``/console/sites`` (the sites the principal may see, 200 a page (``?offset=``), with their
health; ``.json``, ``.csv``),
``/console/sites/{site}`` (one site: its health, devices and transmission history; ``.json``)
and ``/console/sites/{site}/messages/{seq}.json`` (one message as its appliance sent it: a
customer reads every byte its appliance sent). Any role; a customer's own sites only (another's
is a 404, as one that does not exist)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import views
from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console import data
from printwatch.collector.console.view import PREFIX, offset_of, page, split_kind, table_answer
from printwatch.collector.handlers.state import state_of

COLUMNS = (
    "site_id", "name", "last_upload", "version", "devices", "devices_answering", "lag_s", "sequence_gaps",
    "bytes_today", "budget_used_pct", "missing_reads", "reorders_waiting", "enrolled_at",
)  # fmt: skip


async def sites_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    offset = offset_of(request)

    def gather() -> tuple[list[dict[str, Any]], int]:
        con = state.store.con.cursor()
        found = data.sites_health(con, who, state.now(), limit=data.MAX_SITES, offset=offset)
        return found, data.count_sites(con, who)

    rows, total = await state.db(gather)
    return table_answer(
        request, kind, "sites", COLUMNS, rows, "sites.html", title="Sites", active=PREFIX + "/sites",
        total=total, offset=offset, limit=data.MAX_SITES,
    )  # fmt: skip


async def site_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    site, kind = split_kind(request.path_params["site"])
    require_site(who, site)

    def gather() -> dict[str, Any] | None:
        con = state.store.con.cursor()
        found = data.sites_health(con, who, state.now(), site)
        if not found:
            return None
        return {
            "site": found[0],
            "devices": views.devices(con, site),
            "transmissions": data.transmissions(con, site),
        }

    found = await state.db(gather)
    if found is None:
        raise Denied(404, f"no site {site!r}")
    if kind == "json":
        return JSONResponse(_plain(found), headers={"cache-control": "no-store"})
    return page(
        request, "site.html", title=f"Site {site}", active=PREFIX + "/sites", columns=COLUMNS, **found
    )


TRANSMISSION_COLUMNS = ("seq", "kind", "sent_at", "received_at", "bytes")


async def site_transmissions(request: Request) -> Response:
    """``/console/sites/{site}/messages.json`` and ``.csv``: the site's latest messages."""
    state = state_of(request)
    who = await require(request)
    site = request.path_params["site"]
    require_site(who, site)
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])

    def gather() -> list[dict[str, Any]] | None:
        con = state.store.con.cursor()
        if con.execute("SELECT 1 FROM sites WHERE site_id = ?", [site]).fetchone() is None:
            return None
        return data.transmissions(con, site)

    found = await state.db(gather)
    if found is None:
        raise Denied(404, f"no site {site!r}")
    return table_answer(request, kind, f"{site}-messages", TRANSMISSION_COLUMNS, found, "site.html")


async def site_message(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    site = request.path_params["site"]
    require_site(who, site)
    seq_text, kind = split_kind(request.path_params["seq"])
    if kind != "json" or not seq_text.isdigit() or len(seq_text) > 18:
        raise Denied(404, "a message is /console/sites/SITE/messages/SEQ.json")
    found = await state.db(lambda: data.message(state.store.con.cursor(), site, int(seq_text)))
    if found is None:
        raise Denied(404, f"no message {seq_text} of site {site!r}")
    return JSONResponse(found, headers={"cache-control": "no-store"})


def _plain(value: Any) -> Any:
    """``value`` with times as ISO text (for JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value

"""The fleet page (``/fleet``, and ``/`` leading to it): the printers in a table, sorted,
filtered and paged on the server (:meth:`~printwatch.web.dashboard.data.DashboardData.fleet`),
all of it in the URL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.web.dashboard.data import (
    PAGE_SIZES,
    PAGES_DAYS,
    STATES,
    FleetPage,
    FleetQuery,
    FleetRow,
    SupplyBar,
)
from printwatch.web.dashboard.formats import ago, number, qs, utc
from printwatch.web.dashboard.view import dashboard_of, page

LOW_PERCENT = 20.0
#: The table's columns: header, sort key, class.
COLUMNS = (
    ("Printer", "name", ""),
    ("Address", "address", ""),
    ("Model", "model", ""),
    ("State", "state", ""),
    ("Supplies", "supply", ""),
    (f"Pages/day ({PAGES_DAYS} d)", "pages", "num"),
    ("Last seen", "last_seen", ""),
)


def link(q: FleetQuery, **change: object) -> str:
    """The URL of the fleet page with ``q``'s settings, ``change``'d (and back to page 1)."""
    params: dict[str, object] = {
        "q": q.text,
        "state": q.state,
        "sort": q.sort,
        "dir": "desc" if q.descending else "",
        "per": q.per_page if q.per_page != 50 else "",
        "page": "",
    }
    params.update(change)
    return "/fleet?" + qs(**params)


def heads(q: FleetQuery) -> list[dict[str, str]]:
    """The columns' headers: a click sorts by the column, again the other way round."""
    out = []
    for label, key, cls in COLUMNS:
        sorted_ = q.sort == key
        classes = "sorted desc" if sorted_ and q.descending else "sorted" if sorted_ else ""
        href = link(q, sort=key, dir="desc" if sorted_ and not q.descending else "")
        out.append({"label": label, "href": href, "cls": cls, "classes": classes})
    return out


@dataclass(frozen=True, slots=True)
class Row:
    """A printer's row with its texts formatted (objects, not dicts: the template's attribute
    lookups on a 200-row page then take the quick way)."""

    device_id: int
    name: str
    address: str | None
    model: str
    state: str
    errors: str
    bars: Markup
    pages_per_day: str
    seen_utc: str
    seen_ago: str


_NO_BARS = Markup('<span class="muted">none</span>')


def bar(s: SupplyBar) -> Markup:
    """A supply's bar in its colour (low ones outlined, unknown levels hatched), its level and
    days to empty on hover. Built here, like the charts, as a tiny gauge: a 200-row page has 800
    of them, cheaper than in the template; the one text in it, the title (the description is the
    printer's), is escaped, the rest is ours."""
    name = (s.color or s.description or "").lower()
    cls = next((c for c in ("black", "cyan", "magenta", "yellow") if c in name), "other")
    title = f"{s.description}: " + (f"{s.percent:.0f}%" if s.percent is not None else "level unknown")
    if s.days_to_empty is not None:
        title += f", empty in {s.days_to_empty:.0f} days"
    if s.percent is None:
        return Markup(f'<span class="bar unknown" title="{escape(title)}"></span>')
    low = " low" if s.percent <= LOW_PERCENT else ""
    width = max(0.0, min(100.0, s.percent))
    gauge = f'<i class="c-{cls}" style="width:{width:.0f}%"></i>'
    return Markup(f'<span class="bar{low}" title="{escape(title)}">{gauge}</span>')


def row(r: FleetRow, now: dt.datetime) -> Row:
    return Row(
        r.device_id,
        r.name,
        r.address,
        " ".join(x for x in (r.vendor, r.model) if x),
        r.state or "unknown",
        ", ".join(r.errors),
        Markup("".join([bar(s) for s in r.supplies])) or _NO_BARS,
        number(r.pages_per_day, "{:,.0f}"),
        utc(r.last_seen),
        ago(r.last_seen, now),
    )


def context(p: FleetPage, now: dt.datetime) -> dict[str, Any]:
    """What ``fleet.html`` shows of ``p``."""
    q = p.query
    by_size = sorted(p.states.items(), key=lambda x: -x[1])
    return {
        "query": q,
        "conflicts": p.conflicts,
        "states": [(s, s or "every state") for s in ("", "problem", *STATES)],
        "page_sizes": PAGE_SIZES,
        "fleet": p.fleet,
        "chips": [(link(q, state=s), f"{s} {n:,}") for s, n in by_size],
        "heads": heads(q),
        "rows": [row(r, now) for r in p.rows],
        "first": (q.page - 1) * q.per_page + 1 if p.total else 0,
        "last": min(p.total, q.page * q.per_page),
        "total": p.total,
        "pages": p.pages,
        "prev": link(q, page=q.page - 1) if q.page > 1 else "",
        "next": link(q, page=q.page + 1) if q.page < p.pages else "",
    }


async def home(_request: Request) -> Response:
    return RedirectResponse("/fleet", status_code=303)


async def fleet(request: Request) -> Response:
    d = dashboard_of(request)
    q = FleetQuery.parse(dict(request.query_params))
    result = await d.read(d.data.fleet, q)
    return page(request, "fleet.html", **context(result, d.clock()))

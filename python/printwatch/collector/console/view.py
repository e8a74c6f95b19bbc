"""What every console page shares: its templates (over the web layer's shared ``layout.html``),
the navigation a role sees, and the three forms of one table (the page, ``.json``, ``.csv``).

A page handler returns :func:`page` for HTML, :func:`table_answer` for a table that is also a
JSON API and a CSV download (chosen by the path's suffix), :func:`message_page` for a refusal.
The session's CSRF token reaches the layout (its logout form and every form of the page) from
``request.state.principal`` (:func:`printwatch.collector.access.principal_of`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from printwatch.collector.access import Denied
from printwatch.collector.csvtext import csv_text
from printwatch.web.templating import templates

HERE = Path(__file__).resolve().parent
#: Where the console lives on the collector's API listener.
PREFIX = "/console"
STATIC = PREFIX + "/static"
#: ``(href, label, roles)``: a role sees the sections it may open (admin sees every one).
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (PREFIX + "/sites", "Sites", ()),
    (PREFIX + "/devices", "Devices", ()),
    (PREFIX + "/billing", "Billing", ("billing", "support", "viewer", "customer")),
    (PREFIX + "/supplies", "Supplies", ("supplies", "support", "viewer", "customer")),
    (PREFIX + "/enrolment", "Enrolment", ("admin",)),
    (PREFIX + "/access", "Access", ("admin",)),
)


def _stamp(value: object) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` UTC (the store's times are naive UTC)."""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "" if value is None else str(value)


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else str(value))


TEMPLATES = templates(
    HERE / "templates",
    filters={"stamp": _stamp, "number": _number},
    brand="printwatch collector",
    nav=(),
    static=STATIC,
    logout=PREFIX + "/logout",
)


def nav_for(role: str) -> list[tuple[str, str]]:
    return [(href, label) for href, label, roles in SECTIONS if not roles or role in roles or role == "admin"]


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """``template`` rendered for the request's principal (its nav, its CSRF token)."""
    found = getattr(request.state, "principal", None)
    csrf, nav, who = None, [], None
    if found is not None:
        who, csrf = found
        nav = nav_for(who.role)
    context.setdefault("active", "")
    response = TEMPLATES.TemplateResponse(
        request, template, {"csrf": csrf, "nav": nav, "who": who, **context}, status_code=status
    )
    response.headers["cache-control"] = "no-store"
    return response


def _cell(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def message_page(request: Request, status: int, text: str) -> Response:
    titles = {403: "Not allowed", 404: "Not found"}
    return page(request, "message.html", status, title=titles.get(status, "Refused"), text=text)


#: The furthest offset a console list takes (a deep offset costs the store every row before it).
MAX_OFFSET = 100_000


def offset_of(request: Request) -> int:
    """The list's ``?offset=``: a whole number up to :data:`MAX_OFFSET`, else a 400."""
    text = request.query_params.get("offset", "0")
    if not text.isdigit() or len(text) > 12 or int(text) > MAX_OFFSET:
        raise Denied(400, f"offset: a whole number from 0 to {MAX_OFFSET}")
    return int(text)


def _at(request: Request, offset: int) -> str:
    url = request.url.include_query_params(offset=offset)
    return f"{url.path}?{url.query}"


def table_answer(
    request: Request,
    kind: str,
    name: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    template: str,
    *,
    total: int | None = None,
    offset: int = 0,
    limit: int = 0,
    **context: Any,
) -> Response:
    """The table as ``kind`` (``html``, ``json`` or ``csv``; ``name`` for the download). With
    ``total`` it is a page of ``limit`` rows from ``offset``: the JSON and CSV say how many there
    are (``X-Total-Count``) and where the next page is (``Link``), the page says it in words and
    links."""
    headers = {"cache-control": "no-store"}
    following = offset + limit if total is not None and offset + limit < total <= MAX_OFFSET + limit else None
    if total is not None:
        headers["X-Total-Count"] = str(total)
        if following is not None:
            headers["Link"] = f'<{_at(request, following)}>; rel="next"'
    if kind == "json":
        return JSONResponse([{c: _cell(r.get(c)) for c in columns} for r in rows], headers=headers)
    if kind == "csv":
        return Response(
            csv_text(columns, rows),
            media_type="text/csv; charset=utf-8",
            headers={**headers, "content-disposition": f'attachment; filename="{name}.csv"'},
        )
    if total is not None:
        context |= {
            "total": total, "first": offset + 1 if rows else 0, "last": offset + len(rows),
            "previous": _at(request, max(0, offset - limit)) if offset else None,
            "following": None if following is None else _at(request, following),
        }  # fmt: skip
    return page(request, template, rows=rows, columns=columns, **context)


def split_kind(path_part: str) -> tuple[str, str]:
    """``("x", "json")`` for ``x.json``, ``("x", "csv")`` for ``x.csv``, else ``(path_part, "html")``."""
    for kind in ("json", "csv"):
        if path_part.endswith("." + kind):
            return path_part[: -len(kind) - 1], kind
    return path_part, "html"


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API, not a CSV download)."""
    path = request.url.path
    return (
        path.startswith("/console")
        and not path.endswith((".json", ".csv"))
        and "authorization" not in request.headers
    )


async def denied(request: Request, exc: Exception) -> Response:
    """The collector app's answer to :class:`Denied`: JSON ``{"error"}`` with its status (401
    with ``WWW-Authenticate``); for a page, 401 is a redirect to the login form and the rest a
    plain page."""
    assert isinstance(exc, Denied)
    if wants_html(request):
        if exc.status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/console/login?" + _qs(target), status_code=303)

        return message_page(request, exc.status, exc.reason)
    headers = {"WWW-Authenticate": 'Bearer realm="printwatch collector"'} if exc.status == 401 else None
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)


def _qs(target: str) -> str:
    return urlencode({"next": target})
